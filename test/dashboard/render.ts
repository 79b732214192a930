import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthDashboards } from './body';
import { dashboardSvg } from './render-svg';

/*
 * Writes test/dashboard/dashboard.svg, the README's picture of the dashboard,
 * from the DashboardBody a default TwilioMessagingDashboard synthesizes.
 * Run after changing the dashboard (needs `npm run build`'s assets/):
 *   npx tsx test/dashboard/render.ts
 * test/dashboard/dashboard.test.ts fails while the committed picture differs.
 */

export const PICTURE = join(__dirname, 'dashboard.svg');
export const CAPTION = 'Rendered from the synthesized DashboardBody of new TwilioMessagingDashboard(stack, id, { messaging }) by test/dashboard/render.ts: the layout and metrics, no data.';

export function renderPicture(): string {
  return dashboardSvg(synthDashboards({ Dashboard: {} }).bodies.Dashboard, CAPTION);
}

if (require.main === module) {
  writeFileSync(PICTURE, renderPicture());
  console.log(`wrote ${PICTURE}`);
}
