/** DNS-rebinding protection: which Host and Origin headers the HTTP front accepts. */
export interface HostPolicy {
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Host header without port, lower-cased; IPv6 keeps its brackets. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

export function isLoopbackHost(name: string): boolean {
  return LOOPBACK_HOSTS.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  if (!header) return false;
  const name = hostName(header);
  return (
    isLoopbackHost(name) ||
    policy.allowedHosts.some((h) => h.toLowerCase() === name || h.toLowerCase() === header.toLowerCase())
  );
}

/** No Origin (non-browser clients) is fine; a browser Origin must be loopback or listed. */
export function originAllowed(origin: string | undefined, policy: HostPolicy): boolean {
  if (origin === undefined) return true;
  if (policy.allowedOrigins.includes(origin) || policy.allowedOrigins.includes("*")) return true;
  try {
    return (
      isLoopbackHost(new URL(origin).hostname.toLowerCase()) ||
      isLoopbackHost(`[${new URL(origin).hostname}]`)
    );
  } catch {
    return false;
  }
}
