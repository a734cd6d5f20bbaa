import { describe, expect, it } from "vitest";
import { classifyReply } from "../../../src/rds/classify.js";
import type { RdsErrorKind } from "../../../src/rds/errors.js";

describe("classifyReply", () => {
  const cases: Array<[string, RdsErrorKind]> = [
    ["no such item\r\n", "not-found"],
    ["no such item (4)\r\n", "not-found"],
    ["failure: file does not exist\r\n", "not-found"],
    ["already have such item\r\n", "already-exists"],
    ["failure: already have such entry\r\n", "already-exists"],
    ["item with such name already exists\r\n", "already-exists"],
    ["failure: item with such name already exists\r\n", "already-exists"],
    ["bad command name zzz (line 1 column 2)\r\n", "invalid-input"],
    ["syntax error (line 1 column 17)\r\n", "invalid-input"],
    ["expected end of command (line 1 column 40)\r\n", "invalid-input"],
    ["input does not match any value of type\r\n", "invalid-input"],
    ["invalid value for argument file-size\r\n", "invalid-input"],
    ["bad parameter once (line 1 column 54)\r\n", "invalid-input"],
    ["expected item id (line 1 column 20)\r\n", "invalid-input"],
    ["failure: not enough space\r\n", "no-space"],
    ["failure: could not create file: No space left on device\r\n", "no-space"],
    ["not enough disk space\r\n", "no-space"],
    ["failure: disk is busy\r\n", "transient"],
    ["failure: timeout\r\n", "transient"],
    [
      "action timed out - try again, if error continues contact MikroTik support and send a supout file (13)\r\n",
      "transient",
    ],
    ["failure: invalid file size\r\n", "invalid-input"],
    ["failure: not enough space on disk\r\n", "no-space"],
    ["failure: directory does not exist\r\n", "not-found"],
    ["failure: file already exists\r\n", "already-exists"],
    ["failure: subvolume already exists\r\n", "already-exists"],
    ["failure: subvolume is in use by disk\r\n", "transient"],
    ["failure: can not shrink file\r\n", "invalid-input"],
    ["failure: directory is not empty\r\n", "invalid-input"],
    ["failure: read-only file system\r\n", "invalid-input"],
    ["failure: the moon is in the wrong phase\r\n", "protocol"],
  ];

  it.each(cases)("%j → %s", (text, kind) => {
    const err = classifyReply(text, "/disk add x");
    expect(err?.kind).toBe(kind);
    expect(err?.routerText).toBe(text.trim());
    expect(err?.command).toBe("/disk add x");
  });

  it("retries only what RouterOS calls transient", () => {
    expect(classifyReply("failure: busy")?.retryable).toBe(true);
    expect(classifyReply("no such item")?.retryable).toBe(false);
    expect(classifyReply("failure: not enough space")?.retryable).toBe(false);
  });

  it.each([
    "",
    "\r\n",
    "7.22 (stable)\r\n",
    "1\r\n",
    '[{".id":"*1","comment":"failure: no such item"}]\r\n',
    ".id=*1;comment=no such item;slot=x\r\n",
    'Flags: X - DISABLED\r\n 0   ;;; failure: not enough space\r\n      type=file slot="x"\r\n',
    ' 0   type=file slot="x" comment="no such item"\r\n',
  ])("does not take data for an error: %j", (text) => {
    expect(classifyReply(text)).toBeNull();
  });

  it("finds an error printed after other output", () => {
    expect(classifyReply("some output\r\nno such item\r\n")?.kind).toBe("not-found");
  });
});
