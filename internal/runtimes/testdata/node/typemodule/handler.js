import path from 'node:path';
export async function handler(event) {
  return { esm: 'type-module', base: path.basename('/a/b.js'), n: event.n };
}
