import { providerV1 } from '@whitepay/proto';
import { insecure } from '@whitepay/rpc';

/** One gRPC client per provider address, created on first use and kept. */
export class ProviderClients {
  private readonly clients = new Map<string, providerV1.ProviderServiceClient>();

  constructor(private readonly addresses: Readonly<Record<string, string>>) {}

  /** The pid's address, else the `*` (any other pid) one. */
  addressOf(pid: string): string | undefined {
    return this.addresses[pid.toLowerCase()] ?? this.addresses['*'];
  }

  get(address: string): providerV1.ProviderServiceClient {
    let c = this.clients.get(address);
    if (!c) {
      c = new providerV1.ProviderServiceClient(address, insecure(), {
        // Fail fast when the provider is down instead of waiting out the deadline.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2_000,
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
