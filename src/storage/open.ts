import {
  type ConnectionHealth,
  RdsClient,
  type RdsClientOptions,
  RdsConnection,
  type RdsConnectionOptions,
} from "../rds/index.js";
import { StoragePools } from "./pools.js";
import { createStorage, type Storage, type StorageOptions } from "./storage.js";

export interface OpenStorageOptions extends StorageOptions {
  /** How to reach RouterOS: address, user and key, host key policy, channels, command timeout. */
  connection: Omit<RdsConnectionOptions, "logger">;
  /** Told about every RouterOS round trip (metrics); must not throw. */
  onCommand?: RdsClientOptions["onCommand"];
  /** Pools served besides the default one (`--rds-pools`), each with its Btrfs label. */
  extraPools?: readonly { pool: string; fsLabel: string }[];
}

/** A storage over its own SSH connection, with what the process needs to watch and end it. */
export interface OpenedStorage {
  readonly storage: Storage;
  /** Every pool served, the default (`storage`) first; all over the same connection. */
  readonly pools: StoragePools;
  /** The connection's state as last seen; never a round trip. */
  health(): ConnectionHealth;
  /** Reaches RouterOS by asking its version, which the client asks once and then remembers. */
  reach(): Promise<void>;
  /** Closes the connection; commands still running fail. */
  close(): void;
}

/**
 * The controller process's one door to the RDS: the SSH connection, the RouterOS client on it and
 * the storage layout over that client. Connecting waits for the first command.
 */
export function openStorage(options: OpenStorageOptions): OpenedStorage {
  const { connection: connectionOptions, onCommand, extraPools = [], ...storageOptions } = options;
  const { logger } = storageOptions;
  const connection = new RdsConnection({ ...connectionOptions, logger: logger.child({ component: "rds" }) });
  const rds = new RdsClient(connection, {
    logger: logger.child({ component: "rds-client" }),
    ...(onCommand ? { onCommand } : {}),
  });
  const storage = createStorage(rds, storageOptions);
  const others = extraPools.map((extra) => createStorage(rds, { ...storageOptions, ...extra }));
  return {
    storage,
    pools: new StoragePools(storage, others),
    health: () => connection.health(),
    reach: async () => void (await rds.routerOsVersion()),
    close: () => connection.close(),
  };
}
