/** Entry of the white-box page (`lab.js`): the whole lab. */
import { render } from 'preact';
import { Lab } from './lab.tsx';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<Lab />, root);
}
