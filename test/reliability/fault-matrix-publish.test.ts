import { defineMatrixSuite } from "./matrix-suite.js";

defineMatrixSuite("publish", ["publish", "unpublish"]);
