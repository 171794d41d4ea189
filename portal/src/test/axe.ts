import axe from 'axe-core';

/**
 * Runs axe-core on the rendered page and returns the serious and critical violations (the bar the issue
 * sets). jsdom does not lay out or paint, so colour contrast is left to the browser tests.
 */
export async function seriousViolations(root: Element = document.body): Promise<string[]> {
  const results = await axe.run(root, {
    resultTypes: ['violations'],
    rules: { 'color-contrast': { enabled: false } },
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
