import { LabIcon } from '@jupyterlab/ui-components';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">
<path class="jp-icon3" fill="#616161" d="M12 3 1 9l11 6 9-4.91V17h2V9L12 3zm-6.82 9.18v4L12 20l6.82-3.82v-4L12 16l-6.82-3.82z"/>
</svg>`;

export const graderIcon = new LabIcon({ name: 'grader-labextension:icon', svgstr: ICON_SVG });
