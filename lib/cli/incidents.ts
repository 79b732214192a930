import { Incident, LIVE_INCIDENTS_PARENT, readIncident, readPointer } from '../../lambda/shared/incidents/items';
import { maskAddress } from '../../lambda/shared/mask';
import { StatusTable } from './table';

/**
 * The live incidents (open, or acknowledged and not yet resolved), newest
 * first: the live pointers, which exist only while their incident is live,
 * are filed under `live-incidents` in the byParent index (one Query, bounded
 * by how many incidents are live, not by the table), then their incidents
 * are read (BatchGetItem). An incident found resolved (its pointer not yet
 * deleted) is left out.
 */
export async function liveIncidents(table: StatusTable): Promise<Incident[]> {
  const pointers = (await table.children(LIVE_INCIDENTS_PARENT, { newestFirst: true })).map(readPointer);
  const items = await table.getMany(pointers.map((p) => p.incidentId).filter((id) => id !== ''));
  return [...items.values()]
    .map(readIncident)
    .filter((i): i is Incident => i !== undefined && i.state !== 'resolved')
    .sort((a, b) => b.openedAt.localeCompare(a.openedAt));
}

const ago = (iso: string, now: number) => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

export function renderIncidents(incidents: readonly Incident[], now: number): string[] {
  if (incidents.length === 0) return ['no live incidents'];
  const lines = [`${incidents.length} live incident${incidents.length === 1 ? '' : 's'}`];
  for (const i of incidents) {
    lines.push(
      '',
      `  ${i.code.padEnd(5)} ${i.state.padEnd(13)} ${i.title}`,
      `        opened ${i.openedAt.slice(0, 19).replace('T', ' ')} UTC (${ago(i.openedAt, now)}) · stage ${i.stage + 1}${i.pageRepeats > 0 ? ` · ${i.pageRepeats} repeat${i.pageRepeats === 1 ? '' : 's'}` : ''}`,
      `        paged ${i.paged.map(maskAddress).join(', ') || 'nobody'}${i.unreachable.length > 0 ? ` · unreachable ${i.unreachable.map(maskAddress).join(', ')}` : ''}`,
      `        ${i.acknowledgedBy ? `acknowledged by ${maskAddress(i.acknowledgedBy)} at ${(i.acknowledgedAt ?? '').slice(11, 19)} UTC` : 'not acknowledged'}`,
    );
  }
  return lines;
}
