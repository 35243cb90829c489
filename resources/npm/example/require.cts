// The same package through require() (CommonJS), typed.
import Lhttp = require("lhttp-qt");

const m: Lhttp.Message = new Lhttp.Message("chat", { publish: "room.1" }, "hi");
const options: Lhttp.SubscribeOptions = { joins: ["room.1"], info: "plain text" };
const client = new Lhttp("ws://127.0.0.1:8081/", { reconnect: false });
client.subscribe("room.1", "chat", null, "", options);
client.on_join = (e: Lhttp.PresenceEvent) => console.log(e.type, e.channel, m.encode());
