// Keeps a source map's segments for the sources `keep` accepts and ends each
// mapping where other code begins, so that a frame in dropped code stays
// unmapped (index.js:line:column) instead of borrowing the nearest kept
// mapping. Source map v3: a line's segments are comma-separated base64 VLQ
// fields (generated column, source, original line, original column, name),
// each relative to the previous segment's; a one-field segment maps nothing.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...B64].map((c, i) => [c, i]));

function decodeSegment(text) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const ch of text) {
    const d = DIGIT.get(ch);
    if (d === undefined) throw new Error(`source map: "${ch}" in segment "${text}" is not a base64 VLQ digit`);
    value += (d & 31) * 2 ** shift;
    if (d & 32) {
      shift += 5;
    } else {
      fields.push(value % 2 ? -Math.floor(value / 2) : Math.floor(value / 2));
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

function vlq(n) {
  let v = n < 0 ? -n * 2 + 1 : n * 2;
  let s = '';
  do {
    let d = v % 32;
    v = Math.floor(v / 32);
    if (v) d |= 32;
    s += B64[d];
  } while (v);
  return s;
}

/** A copy of `map` with only the sources `keep(source)` accepts, and only the names their segments use. */
export function trimSourceMap(map, keep) {
  const sources = [];
  const sourceIndex = new Map();
  const names = [];
  const nameIndex = new Map();
  const indexOf = (list, index, value) => {
    if (!index.has(value)) index.set(value, list.push(value) - 1);
    return index.get(value);
  };
  const kept = map.sources.map((s) => keep(s));
  // Absolute positions in the input, and the previous written segment's (fields are deltas).
  let src = 0, line = 0, col = 0, name = 0;
  let outSrc = 0, outLine = 0, outCol = 0, outName = 0;
  const lines = map.mappings.split(';').map((text) => {
    let genCol = 0;
    let outGen = 0;
    let mapping = false;
    const out = [];
    const unmap = () => {
      out.push(vlq(genCol - outGen));
      outGen = genCol;
      mapping = false;
    };
    for (const segment of text.split(',')) {
      if (!segment) continue;
      const f = decodeSegment(segment);
      genCol += f[0];
      if (f.length >= 4) {
        src += f[1];
        line += f[2];
        col += f[3];
        if (f.length >= 5) name += f[4];
      }
      if (f.length < 4 || !kept[src]) {
        if (mapping) unmap();
        continue;
      }
      const s = indexOf(sources, sourceIndex, map.sources[src]);
      let seg = vlq(genCol - outGen) + vlq(s - outSrc) + vlq(line - outLine) + vlq(col - outCol);
      outGen = genCol;
      outSrc = s;
      outLine = line;
      outCol = col;
      if (f.length >= 5) {
        const n = indexOf(names, nameIndex, map.names[name]);
        seg += vlq(n - outName);
        outName = n;
      }
      out.push(seg);
      mapping = true;
    }
    return out.join(',');
  });
  const trimmed = { ...map, sources, names, mappings: lines.join(';') };
  if (map.sourcesContent) trimmed.sourcesContent = sources.map((s) => map.sourcesContent[map.sources.indexOf(s)] ?? null);
  return trimmed;
}
