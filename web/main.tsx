/**
 * The lab page's entry: the server says its mode in a meta tag; white-box mode gets the whole lab,
 * black-box mode only the student's view (which never calls a white-box route).
 */
import { render } from 'preact';
import { Lab } from './lab.tsx';
import { Student } from './student.tsx';
import './styles.css';

const mode = document.querySelector<HTMLMetaElement>('meta[name="gradlab-mode"]')?.content;
const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(mode === 'blackbox' ? <Student /> : <Lab />, root);
}
