import type { Logger } from "../log.js";
import { type CallObserver, type ServiceHandlers, wrapService } from "./pipeline.js";
import { type CsiServiceName, loadCsiServices, redactRequest } from "./proto.js";
import type { ServiceRegistration } from "./server.js";

/** Binds handler objects to their proto service definitions through the request pipeline. */
export function registerServices(
  handlers: Partial<Record<CsiServiceName, ServiceHandlers>>,
  options: { logger: Logger; observe?: CallObserver },
): ServiceRegistration[] {
  const definitions = loadCsiServices();
  const out: ServiceRegistration[] = [];
  for (const [name, impl] of Object.entries(handlers) as [CsiServiceName, ServiceHandlers | undefined][]) {
    if (!impl) continue;
    const definition = definitions[name];
    for (const method of Object.keys(impl)) {
      if (!(method in definition)) throw new Error(`${name} has no method ${method} in csi.proto`);
    }
    out.push({
      definition,
      implementation: wrapService(name, impl, {
        logger: options.logger,
        redactRequest,
        ...(options.observe ? { observe: options.observe } : {}),
      }),
    });
  }
  return out;
}
