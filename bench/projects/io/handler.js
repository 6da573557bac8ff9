// Waits 20 ms, as a handler waiting on a database or an API would, then answers.
exports.handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { statusCode: 200, body: JSON.stringify({ message: "Hello, World!" }) };
};
