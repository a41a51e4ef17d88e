/**
 * Entry of the black-box page (`student.js`): only the student's view. A separate bundle, so the
 * script a black-box server sends contains no white-box view and names no white-box route.
 */
import { render } from 'preact';
import { Student } from './student.tsx';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<Student />, root);
}
