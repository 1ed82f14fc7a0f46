import { GenericContainer, Wait } from 'testcontainers';

/** Only used where no local Postgres answers and a Docker engine does. */
export async function PostgreSqlContainer(): Promise<{ url: string; stop(): Promise<void> }> {
  const container = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: async () => {
      await container.stop();
    },
  };
}
