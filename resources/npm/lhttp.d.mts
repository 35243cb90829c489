// Type declarations of lhttp.mjs, the lhttp-qt browser SDK as an ES module (lhttp.d.ts has
// them all). SPDX-License-Identifier: MIT
import Lhttp from "./lhttp.js";

export default Lhttp;
export { Lhttp };
export declare const Message: typeof Lhttp.Message;
export type Message = Lhttp.Message;
export declare const Context: typeof Lhttp.Context;
export type Context = Lhttp.Context;
export declare const LhttpError: typeof Lhttp.LhttpError;
export type LhttpError = Lhttp.LhttpError;
export type Headers = Lhttp.Headers;
export type Channels = Lhttp.Channels;
export type ContextEvent = Lhttp.ContextEvent;
export type PresenceEventName = Lhttp.PresenceEventName;
export type WebSocketLike = Lhttp.WebSocketLike;
export type WebSocketConstructorLike = Lhttp.WebSocketConstructorLike;
export type Options = Lhttp.Options;
export type SubscribeOptions = Lhttp.SubscribeOptions;
export type Position = Lhttp.Position;
export type PositionInput = Lhttp.PositionInput;
export type DeliveryPosition = Lhttp.DeliveryPosition;
export type ErrorInfo = Lhttp.ErrorInfo;
export type CloseInfo = Lhttp.CloseInfo;
export type Recovery = Lhttp.Recovery;
export type PresenceEvent = Lhttp.PresenceEvent;
export type PresenceEntry = Lhttp.PresenceEntry;
export type PresenceList = Lhttp.PresenceList;
export type PresenceStats = Lhttp.PresenceStats;
export type HistoryPage = Lhttp.HistoryPage;
