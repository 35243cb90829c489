// Type declarations of lhttp.js, the lhttp-qt browser SDK (docs/BROWSER.md). lhttp.js is a
// UMD script: `require("lhttp-qt")` and the classic-script global `Lhttp` are this class, with
// Message, Context and LhttpError as its static members. `import` resolves to lhttp.d.mts.
// SPDX-License-Identifier: MIT

declare class Lhttp {
    /**
     * Connects at once and keeps reconnecting (with back-off) until close(); subscriptions are
     * sent again after each reconnect, history channels resume with `recover`.
     * @param url ws:// or wss:// URL; a path, or nothing, means the page's own host and port.
     */
    constructor(url?: string, options?: Lhttp.Options);

    /** The resolved URL. */
    readonly url: string;
    readonly options: Readonly<Required<Omit<Lhttp.Options, "protocols">>> & {
        readonly protocols: string | string[] | undefined;
    };
    /** The current WebSocket, or null between connections. */
    conn: Lhttp.WebSocketLike | null;
    /** Successful opens so far (more than 1 after a reconnect). */
    connectCount: number;
    /** A context bound to the client, for sending at any time (the original SDK's). */
    context: Lhttp.Context;

    /** The original SDK's callbacks; assign your own. */
    on_open: (this: Lhttp, context: Lhttp.Context) => void;
    on_message: (this: Lhttp, context: Lhttp.Context) => void;
    on_close: (this: Lhttp, context: Lhttp.Context) => void;
    on_error: (this: Lhttp, context: Lhttp.Context) => void;
    /** History channels: after a `recovered` reply and the messages it announced. */
    on_recovery: (this: Lhttp, context: Lhttp.Context) => void;
    /** Presence channels subscribed with `joins`: a connection joined or left. */
    on_join: (this: Lhttp, event: Lhttp.PresenceEvent) => void;
    on_leave: (this: Lhttp, event: Lhttp.PresenceEvent) => void;

    /** Sends a message built from scratch; returns its wire text. */
    send(command?: string | null, headers?: Lhttp.Headers, body?: string): string;
    publish(channel: Lhttp.Channels, command?: string | null, headers?: Lhttp.Headers, body?: string): string;
    subscribe(channel: Lhttp.Channels, command?: string | null, headers?: Lhttp.Headers, body?: string,
              options?: Lhttp.SubscribeOptions): string;
    unsubscribe(channel: Lhttp.Channels, command?: string | null, headers?: Lhttp.Headers, body?: string): string;
    /** Subscribes to one history channel, replaying what was published after `position`. */
    recover(channel: string, command?: string | null, position?: Lhttp.PositionInput | null,
            headers?: Lhttp.Headers, body?: string, options?: Lhttp.SubscribeOptions): string;
    /** Asks the server to forward the message to an HTTP backend. */
    upstream(method: string, url: string, command?: string | null, headers?: Lhttp.Headers, body?: string): string;

    /** Adds a listener besides the on_<event> callback; returns a function that removes it. */
    on(event: Lhttp.ContextEvent, listener: (this: Lhttp, context: Lhttp.Context) => void): () => void;
    on(event: Lhttp.PresenceEventName, listener: (this: Lhttp, event: Lhttp.PresenceEvent) => void): () => void;
    /** Removes a listener added with on(). */
    off(event: Lhttp.ContextEvent | Lhttp.PresenceEventName, listener: (...args: never[]) => void): void;

    /** The last position seen on a history channel, or null. */
    position(channel: string): Lhttp.Position | null;
    /** Up to `limit` messages of a history channel, oldest first: the last ones or those after `position`. */
    history(channel: string, limit: number, position?: Lhttp.PositionInput | null): Promise<Lhttp.HistoryPage>;
    /** Who is subscribed to a presence channel (this does not subscribe). */
    presence(channel: string): Promise<Lhttp.PresenceList>;
    /** Counts a presence channel's entries; with `user`, also that user's connections. */
    presenceStats(channel: string, user?: string | null): Promise<Lhttp.PresenceStats>;

    /** Channels currently subscribed (subscribed again after a reconnect). */
    channels(): string[];
    isOpen(): boolean;
    /** Closes for good: no reconnection; queued messages are dropped. */
    close(code?: number, reason?: string): void;

    /** True for a server error reply (`LHTTP/1.0 error` with `code`, without `publish`). */
    static isErrorReply(message: Lhttp.Message): boolean;
    static readonly PROTOCOL: "LHTTP/1.0";
    /** The SDK's version, e.g. "1.2.0". */
    static readonly version: string;
    static readonly sdk: "lhttp-qt";
}

declare namespace Lhttp {
    /** Headers: an object, a Map, [name, value] pairs, or another message's headers. */
    type Headers =
        | { [name: string]: string | number | boolean | null | undefined }
        | Map<string, string | number | boolean | null | undefined>
        | ReadonlyArray<readonly [string, string | number | boolean | null | undefined]>
        | Message
        | null
        | undefined;
    /** One channel, several separated by spaces, or an array of them. */
    type Channels = string | readonly string[];
    type ContextEvent = "open" | "message" | "close" | "error" | "recovery";
    type PresenceEventName = "join" | "leave";

    /** The part of a WebSocket the SDK uses (the browser's WebSocket fits). */
    interface WebSocketLike {
        readonly readyState: number;
        send(data: string): void;
        close(code?: number, reason?: string): void;
    }
    type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

    interface Options {
        /** Reconnect after a drop (default true). */
        reconnect?: boolean;
        /** First back-off in ms (default 500), doubling up to maxReconnectDelay (10000). */
        reconnectDelay?: number;
        maxReconnectDelay?: number;
        /** Messages kept while not connected (default 256). */
        queueLimit?: number;
        /** ms a history() read may take (default 10000; 0: no limit). */
        historyTimeout?: number;
        /** ms a presence()/presenceStats() read may take (default 10000; 0: no limit). */
        presenceTimeout?: number;
        protocols?: string | string[];
        /** The WebSocket class (default: globalThis.WebSocket). */
        WebSocket?: WebSocketConstructorLike;
    }

    /** Presence options of a subscribe: `presence-info`, `joins` and `joins-self`. */
    interface SubscribeOptions {
        /** This connection's info in the channels: a string, or any other value sent as JSON. */
        info?: unknown;
        /** Get the channels' join and leave events (true: the channels being subscribed). */
        joins?: boolean | Channels;
        /** The same, and also this connection's own join. */
        joinsSelf?: boolean | Channels;
    }

    /** A position in a history channel; offset is a decimal uint64 as a string. */
    interface Position {
        offset: string;
        epoch: string;
    }
    /** A position as given: {offset, epoch} or "<offset> <epoch>". */
    type PositionInput = { offset: string | number | bigint; epoch: string } | string;
    interface DeliveryPosition extends Position {
        channel: string;
    }

    interface ErrorInfo {
        type: "reply" | "socket" | "parse";
        code: number | null;
        reason: string;
    }
    interface CloseInfo {
        code: number;
        reason: string;
        wasClean: boolean;
    }
    interface Recovery {
        channel: string;
        recovered: boolean;
        count: number;
        offset: string | null;
        epoch: string | null;
        error?: LhttpError;
    }

    interface PresenceEvent {
        type: PresenceEventName;
        channel: string;
        client: string;
        node: string;
        user: string;
        /** The info the connection subscribed with (JSON.parse it if it sent an object). */
        info: string;
    }
    interface PresenceEntry {
        client: string;
        node: string;
        user: string;
        info: string;
    }
    interface PresenceList {
        channel: string;
        /** Entries in the channel, on every node. */
        total: number;
        /** Entries in `entries` (the server lists at most --presence-list-max). */
        listed: number;
        entries: PresenceEntry[];
    }
    interface PresenceStats {
        channel: string;
        connections: number;
        /** Distinct users; connections without a user count one each. */
        users: number;
        userConnections?: number;
    }
    /** The messages a history() read returned, with the channel and its current position. */
    type HistoryPage = Context[] & { channel: string; position: Position };

    /** One LHTTP message: command, ordered headers (lookups take the last), body. */
    class Message {
        constructor(command?: string | null, headers?: Headers, body?: string | null);
        command: string;
        headers: [string, string][];
        body: string;
        getHeader(name: string): string | null;
        hasHeader(name: string): boolean;
        getHeaders(): [string, string][];
        /** Replaces the last header called `name`, or appends one. */
        setHeader(name: string, value: string | number | boolean): this;
        /** The wire form. */
        encode(): string;
        toString(): string;
        /** The parts of a multipart message ([] without a `multipart` header). */
        getMultipart(): Message[];
        /** Decodes wire text; throws LhttpError when it is malformed. */
        static parse(text: string): Message;
    }

    /** A received message and the means to answer it; on_close/on_error details. */
    class Context {
        constructor(client: Lhttp, message?: Message | null);
        readonly client: Lhttp;
        /** The message received. */
        req: Message;
        /** on_error: what went wrong. */
        error: ErrorInfo | null;
        /** on_close: how the connection closed. */
        closeEvent?: CloseInfo;
        /** on_message: a message replayed by a recovery. */
        replayed?: boolean;
        /** on_recovery: what the recovery brought. */
        recovery?: Recovery;
        /** The client's current WebSocket. */
        readonly conn: WebSocketLike | null;
        getCommand(): string;
        getHeader(name: string): string | null;
        getHeaders(): [string, string][];
        getBody(): string;
        getMessage(): Message;
        getMultipart(): Message[];
        /** The position of a delivery on a history channel, else null. */
        getPosition(): DeliveryPosition | null;
        setCommand(command: string): this;
        /** Sets a header of the next message (one of the same name is replaced). */
        addHeader(name: string, value: string | number | boolean): this;
        /** Adds a multipart part to the next message. */
        appendPart(headers: Headers, body?: string): this;
        send(body?: string): string;
        publish(channel: Channels, command?: string | null, headers?: Headers, body?: string): string;
        subscribe(channel: Channels, command?: string | null, headers?: Headers, body?: string,
                  options?: SubscribeOptions): string;
        unsubscribe(channel: Channels, command?: string | null, headers?: Headers, body?: string): string;
        recover(channel: string, command?: string | null, position?: PositionInput | null, headers?: Headers,
                body?: string, options?: SubscribeOptions): string;
        upstream(method: string, url: string, command?: string | null, headers?: Headers, body?: string): string;
        getCloseCode(): number | null;
        getCloseReason(): string;
    }

    /** Malformed LHTTP text, an invalid argument, or (with code and reason) an error reply. */
    class LhttpError extends Error {
        constructor(message?: string);
        code?: number | null;
        reason?: string;
    }
}

export = Lhttp;
