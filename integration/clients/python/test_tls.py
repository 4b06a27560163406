"""TLS and SCRAM from the drivers: psycopg2 and psycopg 3 (libpq) with sslmode=require,
verify-full against the test CA and channel binding, asyncpg with an SSL context that
verifies the certificate; a plain connection and a wrong password are refused.

run.sh starts this server with --require-tls --auth scram (GRIZZLY_TLS_PORT); a real
PostgreSQL set up the same way passes these tests too."""

import asyncio
import os
import ssl

import asyncpg
import psycopg
import psycopg2
import pytest

PORT = os.environ.get("GRIZZLY_TLS_PORT")
CA = os.environ.get("GRIZZLY_TLS_CA")
PASSWORD = os.environ.get("GRIZZLY_TLS_PASSWORD")
pytestmark = pytest.mark.skipif(PORT is None, reason="run.sh starts the TLS server")


def conninfo(host="127.0.0.1", **extra):
    base = f"host={host} port={PORT} user=grizzly dbname=grizzly password={PASSWORD}"
    return base + "".join(f" {k}={v}" for k, v in extra.items())


def test_psycopg2_require_and_verify_full():
    with psycopg2.connect(conninfo(sslmode="require")) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    with psycopg2.connect(
        conninfo(host="localhost", sslmode="verify-full", sslrootcert=CA)
    ) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone() == ("grizzly",)


def test_psycopg3_channel_binding_and_refusals():
    with psycopg.connect(
        conninfo(sslmode="verify-ca", sslrootcert=CA, channel_binding="require")
    ) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 2").fetchone() == (2,)
    with pytest.raises(psycopg.OperationalError, match="without TLS"):
        psycopg.connect(conninfo(sslmode="disable"))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(conninfo(sslmode="require").replace(PASSWORD, "wrong"))


def test_asyncpg_verifies_the_certificate():
    async def run():
        context = ssl.create_default_context(cafile=CA)
        conn = await asyncpg.connect(
            host="localhost", port=int(PORT), user="grizzly", database="grizzly",
            password=PASSWORD, ssl=context,
        )
        try:
            assert await conn.fetchval("SELECT 3") == 3
        finally:
            await conn.close()
        untrusting = ssl.create_default_context()  # the system CAs do not know ours
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncpg.connect(
                host="localhost", port=int(PORT), user="grizzly", database="grizzly",
                password=PASSWORD, ssl=untrusting,
            )

    asyncio.run(run())
