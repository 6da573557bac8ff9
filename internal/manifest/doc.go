// Package manifest loads and validates a Serverless Framework project file
// (serverless.yml) into a Project that the rest of Cloudlet runs.
//
// Guarantees:
//
//   - Load and Parse return either a complete Project, with every variable
//     resolved and every default applied, or an error; never both, never a
//     half-filled Project, and never a panic, whatever the input.
//   - Every problem is an *Error whose message starts with the file's base
//     name, the line when it is known and the field path, e.g.
//     "serverless.yml:14: functions.getUser.handler: must be a string".
//     All problems of a file are reported at once, joined with errors.Join
//     and ordered by line; each message is a single line.
//   - Decoding is strict: an unknown field, a wrong type or a value out of
//     range is an error. Fields the Serverless Framework knows but Cloudlet
//     does not use (plugins, other resource types, sns events, ...) are accepted; those
//     that would change behaviour add a line to Project.Warnings.
//   - IAM (iam.go): provider.iam.role, provider.iamRoleStatements and
//     iamManagedPolicies, and functions' own iamRoleStatements or iam.role
//     become Project.Roles, each statement checked by internal/iam with its
//     line. Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split
//     are evaluated against resources.Resources; a value that cannot be
//     (an unknown type or attribute, Fn::ImportValue) never widens a role:
//     an Allow loses it, a Deny covers every resource instead, with a
//     warning.
//   - Tables (tables.go): resources.Resources entries of Type
//     AWS::DynamoDB::Table become Project.Tables with their properties
//     evaluated (the same intrinsic functions) and their name as given or
//     as CloudFormation generates it (<service>-<stage>-<LogicalId>-<12
//     characters>, stable); the same names are what Ref and Fn::GetAtt
//     give, in IAM statements and in environment variables, which also
//     evaluate intrinsic functions. AWS::SQS::Queue and AWS::S3::Bucket
//     resources become Project.Queues and Project.Buckets the same way;
//     other resource types are warned about.
//   - sqs, schedule (scheduleevent.go) and s3 events (s3event.go); a
//     function's asynchronous settings (asyncconfig.go: retries, maximum
//     age, destinations, onError).
//   - serverless-lift's queue construct (lift.go) is expanded into the
//     queues, the worker and the permissions it stands for before anything
//     else is read; ${construct:id.queueUrl} and the like resolve to them.
//   - Stream events (stream.go) on DynamoDB tables' streams name their
//     table; Kinesis ones are warned about.
//   - Functions keep the order of the file. Function names follow the
//     Framework: <service>-<stage>-<key> unless name: is set.
//   - Variables (${self:...}, ${opt:...}, ${sls:stage}, ${env:...},
//     ${file(...)}, ${param:...}, ${aws:region}, ${aws:accountId},
//     ${construct:...}, with
//     fallbacks) are resolved on demand: only values Cloudlet reads, and
//     what they refer to, are resolved, so ignored sections may use sources
//     Cloudlet lacks (${ssm:...}, ${cf:...}). A value that is exactly one
//     variable takes the type of what it refers to. Loops between variables
//     are reported as errors, and expansion is bounded in size.
//   - Input that would make the YAML parser slow (over 1 MiB, brackets
//     nested over 500 deep) is refused; YAML aliases are shared, not
//     copied.
//
// The package has no global state; Load and Parse may run concurrently.
// Besides the manifest, they read only the files named by ${file(...)}
// and the environment through Options.LookupEnv.
package manifest
