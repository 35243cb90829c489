// Run by tests/npm/sdk.sh inside the scratch project that installed the packed SDK: the
// installed package works as an ES module and through require(), and everything its
// TypeScript declarations promise exists at run time and everything public at run time is
// declared (the declarations are read with the TypeScript compiler API, so a member added to
// one of lhttp.d.ts and lhttp.js but not the other fails).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import Lhttp, { Lhttp as Named, Message, Context, LhttpError } from "lhttp-qt";
import FromPath from "lhttp-qt/lhttp.mjs";

const require = createRequire(import.meta.url);
const ts = require(process.env.TYPESCRIPT);

assert.equal(typeof Lhttp, "function");
assert.equal(Lhttp.sdk, "lhttp-qt");
assert.equal(Named, Lhttp);
assert.equal(FromPath, Lhttp);
assert.equal(Message, Lhttp.Message);
assert.equal(Context, Lhttp.Context);
assert.equal(LhttpError, Lhttp.LhttpError);
assert.equal(require("lhttp-qt"), Lhttp, "require() and import give the same class");
assert.equal(require("lhttp-qt/package.json").version, Lhttp.version);
assert.equal(new Message("chat", { publish: "room" }, "hi").encode(), "LHTTP/1.0 chat\r\npublish:room\r\n\r\nhi");
assert.equal(Message.parse("LHTTP/1.0 chat\r\na:b:c\r\n\r\nx").getHeader("a"), "b:c");
console.log(`ok: import, named imports, lhttp-qt/lhttp.mjs and require() give Lhttp ${Lhttp.version}`);

// A WebSocket that never connects: enough to construct a client without a server.
class QuietSocket {
    constructor() { this.readyState = 0; }
    send() {}
    close() { this.readyState = 3; }
}
const client = new Lhttp("ws://127.0.0.1:9/", { WebSocket: QuietSocket, reconnect: false });
const samples = {
    Lhttp: { ctor: Lhttp, instance: client },
    Message: { ctor: Message, instance: new Message("chat", null, "") },
    Context: { ctor: Context, instance: new Context(client, null) },
    LhttpError: { ctor: LhttpError, instance: new LhttpError("x") },
};

const file = require.resolve("lhttp-qt/lhttp.js").replace(/\.js$/, ".d.ts");
const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2020, true);
const declared = []; // [class, member, static, optional]
function collect(node) {
    if (ts.isClassDeclaration(node) && node.name && samples[node.name.text]) {
        for (const m of node.members) {
            if (!m.name || ts.isConstructorDeclaration(m)) continue;
            const isStatic = !!(ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static);
            declared.push([node.name.text, m.name.getText(source), isStatic, !!m.questionToken]);
        }
    }
    ts.forEachChild(node, collect);
}
collect(source);
const classes = new Set(declared.map((d) => d[0]));
assert.deepEqual([...classes].sort(), Object.keys(samples).sort(), "every exported class is declared");
let checked = 0;
for (const [cls, name, isStatic, optional] of declared) {
    const { ctor, instance } = samples[cls];
    if (optional) continue; // set only in some situations (Context.recovery, LhttpError.code, …)
    const where = isStatic ? ctor : instance;
    assert.ok(name in where, `${cls}${isStatic ? "." : "#"}${name} is declared but missing at run time`);
    checked++;
}
// The classes hanging off Lhttp (namespace members in the declarations).
for (const cls of ["Message", "Context", "LhttpError"]) assert.equal(typeof Lhttp[cls], "function");
// And the other way: every public member at run time (not starting with "_") is declared.
const names = (cls, isStatic) => new Set(declared.filter((d) => d[0] === cls && d[2] === isStatic).map((d) => d[1]));
const builtIn = new Set(["constructor", "length", "name", "prototype", "message", "stack"]);
const nested = new Set(["Message", "Context", "LhttpError", "Lhttp"]); // the namespace's classes
for (const [cls, { ctor, instance }] of Object.entries(samples)) {
    const found = [
        ...Object.getOwnPropertyNames(ctor).map((n) => [n, true]),
        ...Object.getOwnPropertyNames(ctor.prototype).map((n) => [n, false]),
        ...Object.getOwnPropertyNames(instance).map((n) => [n, false]),
    ];
    for (const [name, isStatic] of found) {
        if (name.startsWith("_") || builtIn.has(name) || (isStatic && cls === "Lhttp" && nested.has(name))) continue;
        assert.ok(names(cls, isStatic).has(name), `${cls}${isStatic ? "." : "#"}${name} exists at run time but is not declared`);
    }
}
assert.ok(checked > 60, `only ${checked} members checked`);
client.close();
console.log(`ok: ${checked} declared members of ${classes.size} classes exist at run time`);
