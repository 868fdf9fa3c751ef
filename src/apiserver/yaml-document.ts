/** One YAML document as a plain value (aliases bounded); throws with the parser's first error. */
import YAML from 'yaml';

export function parseYamlDocument(text: string): unknown {
  const docs = YAML.parseAllDocuments(text);
  if (docs.length !== 1) throw new Error(`expected one YAML document, found ${docs.length}`);
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw doc.errors[0]!;
  return doc.toJS({ maxAliasCount: 100 });
}
