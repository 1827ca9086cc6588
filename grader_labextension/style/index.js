import './base.css';
import './instructor.css';
import './notebook.css';
