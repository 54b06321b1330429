/**
 * The CBOR client protocol (docs/PROTOCOL.md): framing, message schemas and input validation.
 * @module
 */
export * from "./frame.ts";
export * from "./messages.ts";
