// lhttp.mjs — the browser SDK as an ES module.  SPDX-License-Identifier: MIT
//
//   import Lhttp from "/lhttp.mjs";            // or: import { Lhttp, Message } from "/lhttp.mjs";
//
// The implementation lives in lhttp.js (a UMD file), so both forms share one implementation.
// In a browser, imported as a module it registers globalThis.Lhttp; where it is CommonJS
// (Node.js, bundlers: the npm package) it is the namespace's default export instead.
import * as umd from "./lhttp.js";

const Lhttp = umd.default && umd.default.sdk === "lhttp-qt" ? umd.default : globalThis.Lhttp;
export const { Message, Context, LhttpError } = Lhttp;
export { Lhttp };
export default Lhttp;
