// End-to-end test of Cloudlet's S3 with the AWS SDK for JavaScript v3:
// client-s3 (path-style on its own against an IP endpoint, and its
// default CRC32 checksums sent as aws-chunked trailers) and
// s3-presigned-post, whose forms a browser POSTs. Started by
// e2e/e2e_test.go, which runs a real server and passes its endpoint in
// CLOUDLET_API.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  S3Client,
  CreateBucketCommand,
  PutBucketCorsCommand,
  GetBucketCorsCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteBucketCommand,
  NoSuchKey,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

const endpoint = process.env.CLOUDLET_API;
assert.ok(endpoint, "CLOUDLET_API must be set");
const s3 = new S3Client({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });

test("objects: put with the SDK's default checksum, get, list, delete", async () => {
  await s3.send(new CreateBucketCommand({ Bucket: "js-objects" }));
  const put = await s3.send(new PutObjectCommand({ Bucket: "js-objects", Key: "a/hello.txt", Body: "héllo from js", ContentType: "text/plain" }));
  assert.ok(put.ETag);
  assert.ok(put.ChecksumCRC32, "the CRC32 the SDK sent was checked and answered");
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-objects", Key: "a/hello.txt" }));
  assert.equal(await got.Body.transformToString(), "héllo from js");
  assert.equal(got.ContentType, "text/plain");
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "js-objects", Prefix: "a/" }));
  assert.deepEqual(listed.Contents.map((o) => o.Key), ["a/hello.txt"]);
  await s3.send(new DeleteObjectCommand({ Bucket: "js-objects", Key: "a/hello.txt" }));
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "js-objects", Key: "a/hello.txt" })), NoSuchKey);
  await s3.send(new DeleteBucketCommand({ Bucket: "js-objects" }));
});

test("a browser upload: CORS, then a POST form s3-presigned-post signed", async () => {
  await s3.send(new CreateBucketCommand({ Bucket: "js-forms" }));
  await s3.send(new PutBucketCorsCommand({
    Bucket: "js-forms",
    CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["https://app.example.com"], AllowedMethods: ["POST"], AllowedHeaders: ["*"] }] },
  }));
  const cors = await s3.send(new GetBucketCorsCommand({ Bucket: "js-forms" }));
  assert.deepEqual(cors.CORSRules[0].AllowedMethods, ["POST"]);

  const { url, fields } = await createPresignedPost(s3, {
    Bucket: "js-forms",
    Key: "uploads/${filename}",
    Conditions: [["content-length-range", 1, 1000], ["starts-with", "$Content-Type", "text/"]],
    Fields: { "Content-Type": "text/plain" },
    Expires: 60,
  });
  const form = (body) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append("file", new Blob([body]), "note.txt");
    return f;
  };
  const ok = await fetch(url, { method: "POST", body: form("posted from a form") });
  assert.equal(ok.status, 204, await ok.text());
  const head = await s3.send(new HeadObjectCommand({ Bucket: "js-forms", Key: "uploads/note.txt" }));
  assert.equal(head.ContentType, "text/plain");
  assert.equal(head.ContentLength, 18);

  const big = await fetch(url, { method: "POST", body: form("x".repeat(1001)) });
  assert.equal(big.status, 400);
  assert.match(await big.text(), /<Code>EntityTooLarge<\/Code>/);
});
