/**
 * Turns free text into a Lucene query that matches its words and can never be a syntax error or
 * an injected operator: every Lucene special character is backslash-escaped, and the bare
 * operator words are lower-cased (the analyzer lower-cases terms anyway, so matching is unchanged).
 * Terms are OR-ed (Lucene's default), ranked by relevance.
 */
const SPECIAL = /[+\-&|!(){}[\]^"~*?:\\/<>=]/g;
const OPERATOR_WORDS = /^(AND|OR|NOT|TO)$/;

export function toLuceneQuery(text: string): string | null {
  const terms = text
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map((t) => (OPERATOR_WORDS.test(t) ? t.toLowerCase() : t.replace(SPECIAL, '\\$&')));
  return terms.length ? terms.join(' ') : null;
}
