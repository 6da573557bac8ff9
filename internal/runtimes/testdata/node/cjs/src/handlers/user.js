const { double } = require('../../lib/util');
exports.get = async (event) => ({ user: event.id, double: double(event.id) });
