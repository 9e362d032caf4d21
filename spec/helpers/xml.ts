/**
 * A small XML well-formedness check and tree, enough for the SVG the bench writes: one root
 * element, tags that nest and close, quoted unique attributes, text and attribute values with
 * only the five predefined entities or character references, comments and an optional XML
 * declaration. It throws on anything else, so a spec that parses a file asserts that it is
 * well formed.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (its children's not included), entities decoded. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(source: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not well-formed XML at ${i}: ${what} (${JSON.stringify(source.slice(i, i + 40))})`);
  };
  const decode = (raw: string): string => {
    if (raw.includes('<')) fail('"<" in text or attribute value');
    return raw.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
      if (ref === undefined) return fail('bare "&"');
      if (ref in ENTITIES) return ENTITIES[ref]!;
      const code = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1];
      if (code !== undefined) return String.fromCodePoint(parseInt(code, 16));
      const dec = /^#([0-9]+)$/.exec(ref)?.[1];
      if (dec !== undefined) return String.fromCodePoint(Number(dec));
      return fail(`unknown entity ${whole}`);
    });
  };
  const skipSpace = () => {
    while (/\s/.test(source[i] ?? '')) i++;
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<!--', i)) {
        const end = source.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        i = end + 3;
      } else if (source.startsWith('<?', i)) {
        const end = source.indexOf('?>', i + 2);
        if (end < 0) fail('unclosed declaration');
        i = end + 2;
      } else return;
    }
  };
  const name = (): string => {
    const m = NAME.exec(source.slice(i));
    if (m === null) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const element = (): XmlElement => {
    if (source[i] !== '<') fail('expected "<"');
    i++;
    const el: XmlElement = { name: name(), attributes: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipSpace();
      if (source.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (source[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const attr = name();
      if (attr in el.attributes) fail(`attribute ${attr} twice`);
      skipSpace();
      if (source[i] !== '=') fail('expected "="');
      i++;
      skipSpace();
      const quote = source[i];
      if (quote !== '"' && quote !== "'") return fail('unquoted attribute value');
      const end = source.indexOf(quote, i + 1);
      if (end < 0) fail('unclosed attribute value');
      el.attributes[attr] = decode(source.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      const next = source.indexOf('<', i);
      if (next < 0) fail(`<${el.name}> not closed`);
      el.text += decode(source.slice(i, next));
      i = next;
      if (source.startsWith('</', i)) {
        i += 2;
        if (name() !== el.name) fail(`</...> does not close <${el.name}>`);
        skipSpace();
        if (source[i] !== '>') fail('expected ">"');
        i++;
        return el;
      }
      if (source.startsWith('<!--', i)) {
        const end = source.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        i = end + 3;
        continue;
      }
      el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== source.length) fail('content after the root element');
  return root;
}

/** Every element below `root` (itself included), depth first, that `match` accepts. */
export function findAll(root: XmlElement, match: (el: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (el: XmlElement) => {
    if (match(el)) found.push(el);
    el.children.forEach(walk);
  };
  walk(root);
  return found;
}
