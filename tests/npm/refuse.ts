// Misuses the declarations must refuse (CTest npm_sdk compiles this with tsc --strict; each
// expect-error directive below must meet an error, so types that decayed to `any` fail the test).
import Lhttp, { Message, type PresenceList } from "lhttp-qt";

const client = new Lhttp("ws://127.0.0.1:8081/");
// @ts-expect-error channels() is a string[]
const count: number = client.channels();
// @ts-expect-error no such event
client.on("joined", () => undefined);
// @ts-expect-error join listeners get a PresenceEvent, not a context
client.on("join", (ctx: Lhttp.Context) => ctx.getBody());
// @ts-expect-error presence() resolves to a PresenceList
client.presence("room").then((n: number) => n);
// @ts-expect-error subscribe options have no `joinz`
client.subscribe("room", "chat", null, "", { joinz: true });
// @ts-expect-error history() needs a limit
void client.history("room");
// @ts-expect-error a header value is a string, number or boolean
new Message("chat", null, "").setHeader("a", { b: 1 });
// @ts-expect-error reconnectDelay is a number
new Lhttp("ws://127.0.0.1:8081/", { reconnectDelay: "fast" });
const list: PresenceList = { channel: "room", total: 1, listed: 1, entries: [] };
void count;
void list;
