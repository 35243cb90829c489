// A typed use of the SDK, compiled with `tsc --noEmit --strict` against the installed package
// (CTest npm_sdk): a chat room with presence, history and error handling.
import Lhttp, { LhttpError, Message, type Context, type PresenceEvent, type PresenceList, type Position } from "lhttp-qt";

const room = "room.lobby";
const client = new Lhttp("wss://chat.example.org/", { reconnectDelay: 250, maxReconnectDelay: 5000, historyTimeout: 3000 });

client.on_open = function (ctx: Context) {
    this.subscribe(room, "chat", { "x-client": "typed-example" }, "", { info: { name: "Ada" }, joins: true });
    void ctx.getCommand();
};
client.on_message = (ctx) => {
    const position = ctx.getPosition();
    const from: string | null = ctx.getHeader("from");
    console.log(ctx.getHeader("publish"), from, ctx.getBody(), position ? position.offset : "-", ctx.replayed === true);
    for (const part of ctx.getMultipart()) console.log(part.getHeaders().length, part.body);
};
client.on_error = (ctx) => {
    if (ctx.error && ctx.error.type === "reply") console.warn(`error ${ctx.error.code}: ${ctx.error.reason}`);
};
client.on_close = (ctx) => console.log("closed", ctx.getCloseCode(), ctx.getCloseReason());
client.on_recovery = (ctx) => {
    const r = ctx.recovery;
    if (r && !r.recovered) console.warn(`lost messages on ${r.channel}`);
};
const members = new Map<string, string>();
const stop: () => void = client.on("join", (e: PresenceEvent) => members.set(e.client, e.info));
client.on("leave", (e) => members.delete(e.client));
client.on("message", (ctx) => void ctx.getBody());
client.off("join", () => undefined);
stop();

async function catchUp(): Promise<number> {
    try {
        const last: Position | null = client.position(room);
        const page = await client.history(room, 50, last ?? undefined);
        for (const ctx of page) console.log(ctx.getBody());
        const who: PresenceList = await client.presence(room);
        const stats = await client.presenceStats(room, "ada");
        return who.total + stats.connections + (stats.userConnections ?? 0) + Number(page.position.offset);
    } catch (e) {
        if (e instanceof LhttpError) console.warn(e.code, e.reason, e.message);
        return -1;
    }
}
void catchUp();

const message = new Message("chat", [["publish", room]], "hello");
const wire: string = message.setHeader("from", "ada").encode();
const parsed = Lhttp.Message.parse(wire);
client.context.setCommand("chat").addHeader("from", "ada").appendPart({ kind: "image" }, "…").publish(room);
client.recover(room, "chat", "42 e1", null, "", { joinsSelf: true });
client.upstream("post", "http://backend.internal/hook", "chat", new Map([["k", "v"]]), "{}");
client.unsubscribe([room]);
console.log(Lhttp.version, Lhttp.PROTOCOL, Lhttp.isErrorReply(parsed), client.channels(), client.isOpen());
client.close(1000, "bye");
