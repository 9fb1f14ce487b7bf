#!/usr/bin/env node
// sluice compatibility scenario for node-postgres (npm `pg`, with `pg-copy-streams` for COPY): one JSON line per step
// (see compat/README.md). Connection parameters are libpq's (flags or PG* environment variables); the expectations say
// what the target should do with the DROP and the card number, so the same script checks a direct server and the
// sluice gateway.
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const { pipeline } = require('stream/promises')
const { Readable, Writable } = require('stream')
const pg = require('pg')
const copyStreams = require('pg-copy-streams')

const CLIENT = 'node-postgres'
// A Luhn-valid test card number (Visa's documented test number): masking detectors must recognise it.
const CARD = '4111111111111111'
const CANCEL_AFTER_MS = 500
const CANCEL_LIMIT_MS = 5000

function parseArgs (argv) {
  const env = process.env
  const args = {
    host: env.PGHOST || '127.0.0.1',
    port: env.PGPORT || '5432',
    user: env.PGUSER,
    password: env.PGPASSWORD,
    dbname: env.PGDATABASE,
    sslmode: env.PGSSLMODE || 'prefer',
    'expect-drop': 'refused',
    'expect-card': 'masked',
    'drop-table': null
  }
  for (let i = 0; i < argv.length; i += 2) {
    const key = (argv[i] || '').replace(/^--/, '')
    if (!(key in args) || argv[i + 1] === undefined) {
      process.stderr.write(`usage: scenario.js [--host H] [--port P] [--user U] [--password PW] [--dbname D] [--sslmode M] [--expect-drop refused|allowed|skip] [--expect-card masked|raw] [--drop-table T]\nunknown or incomplete argument: ${argv[i]}\n`)
      process.exit(2)
    }
    args[key] = argv[i + 1]
  }
  if (!['refused', 'allowed', 'skip'].includes(args['expect-drop']) || !['masked', 'raw'].includes(args['expect-card'])) {
    process.stderr.write('--expect-drop must be refused|allowed|skip and --expect-card masked|raw\n')
    process.exit(2)
  }
  return args
}

// libpq's sslmode mapped onto node's TLS options. `prefer` cannot be expressed (pg has no fallback): it means no TLS.
function sslOptions (mode) {
  switch (mode) {
    case 'disable': case 'allow': case 'prefer': return false
    case 'require': return { rejectUnauthorized: false }
    case 'verify-ca': case 'verify-full': {
      const ca = process.env.PGSSLROOTCERT ? fs.readFileSync(process.env.PGSSLROOTCERT) : undefined
      const options = { rejectUnauthorized: true, ca }
      if (mode === 'verify-ca') options.checkServerIdentity = () => undefined
      return options
    }
    default: throw new Error(`unknown sslmode ${mode}`)
  }
}

class Reporter {
  constructor () { this.allPassed = true }

  step (step, outcome, sqlstate, rows, expected, pass, detail = '') {
    this.allPassed = this.allPassed && pass
    const line = { client: CLIENT, step, outcome, sqlstate, rows, expected, pass, detail }
    process.stdout.write(JSON.stringify(line) + '\n')
  }

  // action() resolves to [rows, checkOk, detail]; a rejection is an error outcome with its SQLSTATE.
  async run (step, action, expected = 'ok') {
    try {
      const [rows, checkOk, detail] = await action()
      this.step(step, 'ok', null, rows, expected, expected === 'ok' && checkOk, detail)
    } catch (err) {
      const state = err.code || null
      this.step(step, 'error', state, null, expected, state === expected, String(err.message).split('\n')[0])
    }
  }
}

const ident = (name) => '"' + name.replace(/"/g, '""') + '"'

function cardCheck (rows, expectation) {
  if (rows.length !== 1) return [rows.length, false, 'expected exactly one row']
  const value = rows[0].card_number
  if (expectation === 'raw') return [1, value === CARD, value === CARD ? 'raw value returned' : 'value differs from the raw number']
  const masked = value !== null && value !== CARD && !String(value).includes(CARD)
  return [1, masked, masked ? 'masked' : 'the raw card number came back unmasked']
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const report = new Reporter()
  const suffix = crypto.randomBytes(4).toString('hex')
  const table = ident(`compat_node_${suffix}`)
  const victim = ident(args['drop-table'] || `compat_node_victim_${suffix}`)
  const config = {
    host: args.host,
    port: Number(args.port),
    user: args.user,
    password: args.password,
    database: args.dbname,
    ssl: sslOptions(args.sslmode),
    application_name: 'sluice-compat-node'
  }

  const client = new pg.Client(config)
  // A connection error after connect (e.g. the target going away) must be reported by the step that sees it, not crash.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    report.step('connect', 'error', err.code || null, null, 'ok', false, String(err.message))
    return 1
  }
  report.step('connect', 'ok', null, null, 'ok', true, `ssl=${Boolean(config.ssl)}`)

  const selectOne = async () => {
    const res = await client.query('SELECT 1 AS one')
    return [res.rowCount, res.rows.length === 1 && res.rows[0].one === 1, `value=${JSON.stringify(res.rows)}`]
  }
  await report.run('select', selectOne)

  await report.run('create_table', async () => {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, card_number text)`)
    if (!args['drop-table']) await client.query(`CREATE TABLE ${victim} (id int)`)
    return [null, true, table]
  })

  await report.run('insert', async () => {
    let total = 0
    for (const row of [[1, 'alice', CARD], [2, 'bob', null], [3, 'carol', null]]) {
      const res = await client.query(`INSERT INTO ${table} (id, name, card_number) VALUES ($1, $2, $3)`, row)
      total += res.rowCount
    }
    return [total, total === 3, '']
  })

  await report.run('prepared', async () => {
    const names = []
    for (const key of [1, 2, 3]) {
      // A named query: node-postgres parses it once per connection and then only binds and executes it.
      const res = await client.query({ name: `compat_by_id_${suffix}`, text: `SELECT name FROM ${table} WHERE id = $1`, values: [key] })
      names.push(...res.rows.map((r) => r.name))
    }
    return [names.length, JSON.stringify(names) === '["alice","bob","carol"]', `names=${JSON.stringify(names)}`]
  })

  await report.run('masked_card', async () => {
    const res = await client.query(`SELECT card_number FROM ${table} WHERE id = 1`)
    return cardCheck(res.rows, args['expect-card'])
  })

  await report.run('copy_in', async () => {
    const lines = []
    for (let key = 100; key < 200; key++) lines.push(`${key}\tcopied-${key}\t\\N\n`)
    const stream = client.query(copyStreams.from(`COPY ${table} (id, name, card_number) FROM STDIN`))
    await pipeline(Readable.from(lines), stream)
    return [stream.rowCount, stream.rowCount === 100, '']
  })

  await report.run('copy_out', async () => {
    let text = ''
    const sink = new Writable({ write (chunk, _enc, done) { text += chunk.toString(); done() } })
    await pipeline(client.query(copyStreams.to(`COPY (SELECT id, name FROM ${table} ORDER BY id) TO STDOUT`)), sink)
    const count = text.split('\n').filter((line) => line.length > 0).length
    return [count, count === 103, '']
  })

  const drop = `DROP TABLE ${victim}`
  const expectedDrop = { refused: '42501', allowed: 'ok' }[args['expect-drop']]
  if (expectedDrop) await report.run('drop_table', async () => { await client.query(drop); return [null, true, ''] }, expectedDrop)
  await report.run('after_refusal', selectOne)

  await report.run('tx_rollback', async () => {
    await client.query('BEGIN')
    await client.query(`INSERT INTO ${table} (id, name) VALUES (1000, 'in-tx')`)
    let detail = 'no refusal expected'
    if (args['expect-drop'] === 'refused') detail = await txRefusal(client, drop)
    await client.query('ROLLBACK')
    const res = await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = 1000`)
    const left = res.rows[0].n
    return [left, left === 0 && !detail.startsWith('FAIL'), detail]
  })

  await cancel(client, config, report)
  await report.run('after_cancel', selectOne)
  await client.end()
  return report.allPassed ? 0 : 1
}

// Inside an open transaction: the DROP must fail with 42501, then the transaction is aborted (25P02).
async function txRefusal (client, drop) {
  try {
    await client.query(drop)
    return 'FAIL: the DROP inside the transaction was not refused'
  } catch (err) {
    if (err.code !== '42501') return `FAIL: DROP gave ${err.code}, expected 42501`
  }
  try {
    await client.query('SELECT 1')
    return 'FAIL: the transaction was not left aborted after the refusal'
  } catch (err) {
    if (err.code !== '25P02') return `FAIL: SELECT after the refusal gave ${err.code}, expected 25P02`
  }
  return 'refused with 42501, transaction aborted (25P02), rolled back'
}

// node-postgres cancels through a second Client that sends a CancelRequest with the first one's key. Like libpq before
// version 17, it sends the CancelRequest without TLS.
function cancel (client, config, report) {
  return new Promise((resolve) => {
    const query = new pg.Query('SELECT pg_sleep(30)')
    const started = Date.now()
    const timer = setTimeout(() => new pg.Client({ ...config, ssl: false }).cancel(client, query), CANCEL_AFTER_MS)
    query.on('error', (err) => {
      clearTimeout(timer)
      const elapsed = Date.now() - started
      const pass = err.code === '57014' && elapsed < CANCEL_LIMIT_MS
      report.step('cancel', 'error', err.code || null, null, '57014', pass, `elapsed_ms=${elapsed}`)
      resolve()
    })
    query.on('end', () => {
      clearTimeout(timer)
      report.step('cancel', 'ok', null, 1, '57014', false, `not cancelled, elapsed_ms=${Date.now() - started}`)
      resolve()
    })
    client.query(query)
  })
}

main().then((code) => { process.exitCode = code }, (err) => {
  process.stderr.write(`scenario.js: ${err.stack || err}\n`)
  process.exitCode = 1
})
