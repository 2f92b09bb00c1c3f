'use strict';
// Checks an SDK method's answer against the response type the SDK DECLARES for it: the TypeScript
// compiler API (typescript, a pinned devDependency of the version directory) reads the installed
// `.d.ts` of the client class, takes the method's return type `Promise<T>`, and walks the JSON
// value against T (unions, intersections, literals, arrays, tuples, objects with required and
// optional properties, index signatures), with strict null checks (so `string | null` keeps its
// null). Extra properties are allowed, as TypeScript's structural typing allows them. A version
// directory without typescript gets no checker (null).

const path = require('node:path');

const MAX_DEPTH = 40;

// createTypeChecker(sdkRequire, classes): classes maps a class name to its .d.ts path relative to
// the @dfns/sdk package directory. Returns { check(className, method, value) -> string[] } or null.
function createTypeChecker(sdkRequire, classes) {
  let ts;
  try {
    ts = sdkRequire('typescript');
  } catch {
    return null;
  }
  const sdkDir = path.dirname(sdkRequire.resolve('@dfns/sdk/package.json'));
  const files = Object.values(classes).map((f) => path.join(sdkDir, f));
  const program = ts.createProgram(files, { noEmit: true, skipLibCheck: true, strict: true, types: [], target: ts.ScriptTarget.ES2020 });
  const checker = program.getTypeChecker();

  const methods = new Map(); // "Class.method" -> declared answer type
  for (const [cls, rel] of Object.entries(classes)) {
    const sf = program.getSourceFile(path.join(sdkDir, rel));
    if (!sf) throw new Error(`sdktypes: cannot read ${rel}`);
    ts.forEachChild(sf, (node) => {
      if (!ts.isClassDeclaration(node) || node.name?.text !== cls) return;
      for (const m of node.members) {
        if (!ts.isMethodDeclaration(m) || !m.name || !ts.isIdentifier(m.name)) continue;
        const sig = checker.getSignatureFromDeclaration(m);
        let ret = checker.getReturnTypeOfSignature(sig);
        if (ret.symbol?.name === 'Promise') ret = checker.getTypeArguments(ret)[0];
        methods.set(`${cls}.${m.name.text}`, ret);
      }
    });
  }

  const str = (t) => checker.typeToString(t, undefined, ts.TypeFormatFlags.NoTruncation).slice(0, 200);

  function accepts(type, value, at, errs, depth) {
    if (depth > MAX_DEPTH) return;
    const f = type.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) {
      let best = null;
      for (const member of type.types) {
        const e = [];
        accepts(member, value, at, e, depth + 1);
        if (e.length === 0) return;
        if (!best || e.length < best.length) best = e;
      }
      errs.push(`${at}: ${JSON.stringify(value)?.slice(0, 120)} matches no member of ${str(type)}`, ...best.slice(0, 3).map((e) => `  closest: ${e}`));
      return;
    }
    if (type.isIntersection()) {
      for (const member of type.types) accepts(member, value, at, errs, depth + 1);
      return;
    }
    const want = (ok, what) => {
      if (!ok) errs.push(`${at}: want ${what}, got ${JSON.stringify(value)?.slice(0, 120)}`);
    };
    if (type.isStringLiteral()) return want(value === type.value, JSON.stringify(type.value));
    if (type.isNumberLiteral()) return want(value === type.value, String(type.value));
    if (f & ts.TypeFlags.BooleanLiteral) return want(value === (type.intrinsicName === 'true'), type.intrinsicName);
    if (f & ts.TypeFlags.String) return want(typeof value === 'string', 'a string');
    if (f & ts.TypeFlags.Number) return want(typeof value === 'number', 'a number');
    if (f & ts.TypeFlags.Boolean) return want(typeof value === 'boolean', 'a boolean');
    if (f & ts.TypeFlags.Null) return want(value === null, 'null');
    if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return want(value === undefined, 'nothing');
    if (f & ts.TypeFlags.Never) return want(false, 'never');
    if (checker.isTupleType(type)) {
      if (!Array.isArray(value)) return want(false, 'a tuple');
      checker.getTypeArguments(type).forEach((t, i) => accepts(t, value[i], `${at}[${i}]`, errs, depth + 1));
      return;
    }
    if (checker.isArrayType(type)) {
      if (!Array.isArray(value)) return want(false, 'an array');
      const el = checker.getTypeArguments(type)[0];
      value.forEach((v, i) => accepts(el, v, `${at}[${i}]`, errs, depth + 1));
      return;
    }
    if (type.symbol?.name === 'Date') return want(typeof value === 'string', 'a date string');
    if (f & ts.TypeFlags.Object) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return want(false, `an object ${str(type)}`);
      const seen = new Set();
      for (const prop of checker.getPropertiesOfType(type)) {
        seen.add(prop.name);
        const decl = prop.valueDeclaration ?? prop.declarations?.[0];
        const pt = decl ? checker.getTypeOfSymbolAtLocation(prop, decl) : checker.getTypeOfSymbol(prop);
        const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
        const v = value[prop.name];
        if (v === undefined) {
          if (!optional && !(pt.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) &&
              !(pt.isUnion() && pt.types.some((t) => t.flags & ts.TypeFlags.Undefined))) {
            errs.push(`${at}.${prop.name}: required by ${str(type).slice(0, 80)} but missing`);
          }
          continue;
        }
        accepts(pt, v, `${at}.${prop.name}`, errs, depth + 1);
      }
      for (const info of checker.getIndexInfosOfType(type)) {
        for (const [k, v] of Object.entries(value)) {
          if (!seen.has(k)) accepts(info.type, v, `${at}[${JSON.stringify(k)}]`, errs, depth + 1);
        }
      }
      return;
    }
    errs.push(`${at}: the checker does not know type ${str(type)} (flags ${f})`);
  }

  return {
    // The "Class.method" keys whose declared answer type was read.
    methods: () => [...methods.keys()],
    check(cls, method, value) {
      const t = methods.get(`${cls}.${method}`);
      if (!t) return [`${cls}.${method}: no declared answer type found in the installed .d.ts`];
      const errs = [];
      accepts(t, value, 'answer', errs, 0);
      return errs;
    },
  };
}

module.exports = { createTypeChecker };
