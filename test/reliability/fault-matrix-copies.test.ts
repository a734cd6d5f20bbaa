import { defineMatrixSuite } from "./matrix-suite.js";

defineMatrixSuite("restores and clones", ["restore", "clone"]);
