import { helper } from './helper.mjs';
const started = await Promise.resolve('top-level await');
export const handler = async (event, context) => ({ esm: 'mjs', started, helper: helper(), id: context.awsRequestId });
