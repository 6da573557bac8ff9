const { S3Client, GetObjectCommand, PutObjectCommand } = require("@aws-sdk/client-s3");

const s3 = new S3Client({});

// Each uploaded text becomes its upper-cased "thumbnail", with the event
// it came from in its metadata.
exports.resize = async (event) => {
  for (const r of event.Records) {
    const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, " "));
    const obj = await s3.send(new GetObjectCommand({ Bucket: r.s3.bucket.name, Key: key }));
    const text = await obj.Body.transformToString();
    await s3.send(new PutObjectCommand({
      Bucket: "thumbs-thumbnails",
      Key: key.replace(/^in\//, "out/"),
      Body: text.toUpperCase(),
      ContentType: "text/plain",
      Metadata: { event: r.eventName, size: String(r.s3.object.size), etag: r.s3.object.eTag },
    }));
  }
};
