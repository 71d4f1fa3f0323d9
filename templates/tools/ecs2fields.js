// SPDX-License-Identifier: Apache-2.0
// templates/tools/ecs2fields.js - writes the ECS part of templates/fields.yml
// from the ECS field definitions shipped in the @elastic/ecs npm package
// (generated/ecs_nested.js): names, types and mapping parameters only.
// Fields outside the Beats default-field list get `default_field: false`,
// as Beats' fields.ecs.yml does. Development-time helper, not used by the
// build:   npm pack @elastic/ecs@8.11.5 && tar xzf elastic-ecs-*.tgz
//          node ecs2fields.js package/generated/ecs_nested.js > ecs.yml
'use strict';

const nested = require(require('path').resolve(process.argv[2])).EcsNested;

// Fields whose text is searched by default (index.query.default_field).
const DEFAULT_FIELDS = new Set(`@timestamp agent.ephemeral_id agent.id agent.name agent.type
agent.version as.number as.organization.name labels message tags ecs.version
client.address client.as.number client.as.organization.name client.bytes client.domain
client.ip client.mac client.nat.ip client.nat.port client.packets client.port
client.registered_domain client.top_level_domain
cloud.account.id cloud.availability_zone cloud.instance.id cloud.instance.name
cloud.machine.type cloud.provider cloud.region container.id container.image.name
container.image.tag container.labels container.name container.runtime
dns.answers dns.answers.class dns.answers.data dns.answers.name dns.answers.ttl
dns.answers.type dns.header_flags dns.id dns.op_code dns.question.class dns.question.name
dns.question.registered_domain dns.question.subdomain dns.question.top_level_domain
dns.question.type dns.resolved_ip dns.response_code dns.type
error.code error.id error.message error.stack_trace error.type
event.action event.category event.code event.created event.dataset event.duration
event.end event.hash event.id event.kind event.module event.original event.outcome
event.provider event.risk_score event.risk_score_norm event.sequence event.severity
event.start event.timezone event.type
file.accessed file.created file.ctime file.device file.directory file.extension file.gid
file.group file.hash.md5 file.hash.sha1 file.hash.sha256 file.hash.sha512 file.inode
file.mode file.mtime file.name file.owner file.path file.size file.target_path file.type
file.uid group.domain group.id group.name hash.md5 hash.sha1 hash.sha256 hash.sha512
host.architecture host.hostname host.id host.ip host.mac host.name host.os.family
host.os.full host.os.kernel host.os.name host.os.platform host.os.version host.type
host.uptime http.request.body.bytes http.request.body.content http.request.bytes
http.request.method http.request.referrer http.response.body.bytes
http.response.body.content http.response.bytes http.response.status_code http.version
log.level log.logger log.origin.file.line log.origin.file.name log.origin.function
log.original log.syslog log.syslog.facility.code log.syslog.facility.name
log.syslog.priority log.syslog.severity.code log.syslog.severity.name
network.application network.bytes network.community_id network.direction
network.forwarded_ip network.iana_number network.name network.packets network.protocol
network.transport network.type observer.hostname observer.ip observer.mac observer.name
observer.os.family observer.os.full observer.os.kernel observer.os.name
observer.os.platform observer.os.version observer.product observer.serial_number
observer.type observer.vendor observer.version organization.id organization.name
os.family os.full os.kernel os.name os.platform os.version package.architecture
package.checksum package.description package.install_scope package.installed
package.license package.name package.path package.size package.version process.args
process.executable process.hash.md5 process.hash.sha1 process.hash.sha256
process.hash.sha512 process.name process.pgid process.pid process.ppid process.start
process.thread.id process.thread.name process.title process.uptime
process.working_directory related.ip
service.ephemeral_id service.id service.name service.node.name service.state service.type
service.version threat.framework threat.tactic.id threat.tactic.name
threat.tactic.reference threat.technique.id threat.technique.name
threat.technique.reference trace.id transaction.id url.domain url.extension url.fragment
url.full url.original url.password url.path url.port url.query url.registered_domain
url.scheme url.top_level_domain url.username user.domain user.email user.full_name
user.group.domain user.group.id user.group.name user.hash user.id user.name
user_agent.device.name user_agent.name user_agent.original user_agent.original.text
user_agent.os.family user_agent.os.full user_agent.os.kernel user_agent.os.name
user_agent.os.platform user_agent.os.version user_agent.version`.split(/\s+/));
// client/destination/host/observer/server/source geo, user and nat fields
for (const p of ['client', 'destination', 'server', 'source', 'host', 'observer']) {
    for (const g of ['city_name', 'continent_name', 'country_iso_code', 'country_name',
                     'location', 'name', 'region_iso_code', 'region_name']) {
        DEFAULT_FIELDS.add(`${p}.geo.${g}`);
    }
}
for (const p of ['client', 'destination', 'server', 'source', 'host']) {
    for (const u of ['domain', 'email', 'full_name', 'group.domain', 'group.id', 'group.name',
                     'hash', 'id', 'name']) {
        DEFAULT_FIELDS.add(`${p}.user.${u}`);
    }
}
for (const p of ['server', 'source']) {
    for (const f of ['address', 'as.number', 'as.organization.name', 'bytes', 'domain', 'ip',
                     'mac', 'nat.ip', 'nat.port', 'packets', 'port', 'registered_domain',
                     'top_level_domain']) {
        DEFAULT_FIELDS.add(`${p}.${f}`);
    }
}
for (const f of ['address', 'as.number', 'as.organization.name', 'bytes', 'domain', 'ip',
                 'mac', 'nat.ip', 'nat.port', 'packets', 'port', 'registered_domain',
                 'top_level_domain']) {
    DEFAULT_FIELDS.add(`destination.${f}`);
}

function q(s) {
    return /^[A-Za-z0-9_.\-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n|[0-9.]+)$/i.test(s)
        ? s : `'${s.replace(/'/g, "''")}'`;
}

function fieldLine(f, contextual) {
    const a = [`name: ${q(contextual)}`, `type: ${f.type}`];
    if (f.ignore_above !== undefined && f.ignore_above !== 1024) a.push(`ignore_above: ${f.ignore_above}`);
    if (f.index === false) a.push('index: false');
    if (f.doc_values === false) a.push('doc_values: false');
    if (f.object_type) a.push(`object_type: ${f.object_type}`);
    if (f.scaling_factor) a.push(`scaling_factor: ${f.scaling_factor}`);
    if (f.path) a.push(`path: ${q(f.path)}`);
    if (f.multi_fields && f.multi_fields.length) {
        const mfs = f.multi_fields.map((mf) => {
            const b = [`name: ${q(mf.name)}`, `type: ${mf.type}`];
            if (mf.norms === false) b.push('norms: false');
            if (!DEFAULT_FIELDS.has(mf.flat_name) && DEFAULT_FIELDS.has(f.flat_name)) {
                b.push('default_field: false');
            }
            return `{${b.join(', ')}}`;
        });
        a.push(`multi_fields: [${mfs.join(', ')}]`);
    }
    if (!DEFAULT_FIELDS.has(f.flat_name)) a.push('default_field: false');
    return `{${a.join(', ')}}`;
}

function fieldArray(fields, prefix, indent) {
    const out = [];
    for (const flat of Object.keys(fields)) {
        const f = fields[flat];
        const contextual = prefix === '' ? flat : flat.split('.').slice(1).join('.');
        out.push([contextual, fieldLine(f, contextual)]);
    }
    out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return out.map((x) => `${indent}- ${x[1]}`);
}

const lines = ['- key: ecs', '  title: ECS', '  fields:'];
lines.push(...fieldArray(nested.base.fields, nested.base.prefix, '  '));
for (const name of Object.keys(nested).sort()) {
    const fs = nested[name];
    if (name === 'base') continue;
    if (fs.reusable && fs.reusable.top_level === false) continue;
    if (fs.root) {
        lines.push(...fieldArray(fs.fields, fs.prefix, '  '));
        continue;
    }
    lines.push(`  - name: ${q(name)}`, '    type: group', '    fields:');
    lines.push(...fieldArray(fs.fields, fs.prefix, '    '));
}
process.stdout.write(lines.join('\n') + '\n');
