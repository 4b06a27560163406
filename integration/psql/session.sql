-- A psql session as a user would type it. Errors are part of the transcript.
\set VERBOSITY default
SELECT version() LIKE 'PostgreSQL 16.%Grizzly%' AS looks_like_postgres;
SHOW server_version;
SHOW DateStyle;
CREATE TABLE orders (
    id bigint NOT NULL,
    customer varchar(20),
    amount numeric(10,2) DEFAULT 0,
    paid boolean DEFAULT false,
    placed date,
    at timestamptz,
    note text,
    payload bytea
);
INSERT INTO orders (id, customer, amount, placed, at, note, payload) VALUES
    (1, 'ada', 12.50, '2024-01-01', '2024-01-01 10:00:00+00', 'first', '\x0102'),
    (2, 'bob', 7.25, '2024-01-02', '2024-01-02 11:30:00.25+00', NULL, NULL),
    (3, 'ada', 100, '2024-01-03', NULL, 'tab	inside', '\xff');
INSERT INTO orders (id) VALUES (4);
COPY orders (id, customer, amount) FROM STDIN WITH (FORMAT csv, HEADER true);
id,customer,amount
5,cy,1.00
6,"d,e",2.00
\.
COPY orders (id, customer) FROM STDIN;
7	text format
8	\N
\.
SELECT * FROM orders ORDER BY id;
SELECT customer, count(*), sum(amount) AS total FROM orders GROUP BY customer ORDER BY customer NULLS LAST;
SELECT id, amount, rank() OVER (ORDER BY amount DESC NULLS LAST) FROM orders WHERE amount > 0 ORDER BY id;
WITH big AS (SELECT * FROM orders WHERE amount >= 10) SELECT count(*) FROM big;
SELECT 1 AS a; SELECT 2 AS b;
-- describing the database, as psql's backslash commands read pg_catalog
\dt
\d orders
\d+ orders
\dn
\l
\df pg_catalog.upper
\x
SELECT id, customer, amount FROM orders WHERE id = 1;
\x
-- copying out, through COPY and \copy
COPY (SELECT id, customer, amount FROM orders WHERE id < 4 ORDER BY id) TO STDOUT;
COPY (SELECT id, customer FROM orders WHERE id IN (5, 6) ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER);
\copy (SELECT id, note FROM orders WHERE id IN (1, 3) ORDER BY id) to stdout
-- errors, each with the session staying usable
SELEC 1;
SELECT * FROM missing;
SELECT nope FROM orders;
CREATE TABLE orders (id int);
INSERT INTO orders (id) VALUES ('abc');
INSERT INTO orders (id) VALUES (true);
INSERT INTO orders (customer) VALUES ('nobody');
INSERT INTO orders (id, customer) VALUES (9, 'a name that is far too long');
COPY orders (id) FROM STDIN;
10
x11
\.
SELECT count(*) FROM orders;
BEGIN;
INSERT INTO orders (id) VALUES (10);
COMMIT;
DROP TABLE orders;
DROP TABLE IF EXISTS orders;
SELECT count(*) FROM orders;
