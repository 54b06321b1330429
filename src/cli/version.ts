/**
 * The version `corral --version` prints, read from package.json at build time so the two
 * cannot drift (the compiled binary embeds it).
 * @module
 */
import packageJson from "../../package.json" with { type: "json" };

/** This build's version, as in package.json. */
export const version: string = packageJson.version;
