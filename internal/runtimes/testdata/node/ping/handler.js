exports.ping = async () => ({ statusCode: 200, body: 'ok' });
