// Applies SCIM PATCH operations with scim-patch, an independent
// implementation of RFC 7644 §3.5.2, for scim/patchref_test.go. Reads
// [{"resource": {...}, "operations": [...]}] on stdin and writes
// [{"result": {...}} or {"error": "scimType or message"}] on stdout.
const { scimPatch } = require('scim-patch');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((c) => {
    try {
      return { result: scimPatch(c.resource, c.operations, { mutateDocument: false }) };
    } catch (e) {
      return { error: e.scimCode || e.message || String(e) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
