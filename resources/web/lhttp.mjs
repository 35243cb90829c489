// lhttp.mjs — the browser SDK as an ES module.  SPDX-License-Identifier: MIT
//
//   import Lhttp from "/lhttp.mjs";            // or: import { Lhttp, Message } from "/lhttp.mjs";
//
// The implementation lives in lhttp.js (a UMD file); imported as a module it registers
// globalThis.Lhttp, which is re-exported here, so both forms share one implementation.
import "./lhttp.js";

const Lhttp = globalThis.Lhttp;
export const { Message, Context, LhttpError } = Lhttp;
export { Lhttp };
export default Lhttp;
