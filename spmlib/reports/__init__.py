"""Reports for people: one builder per report kind, the table formatter, the scope resolver, charts
(plotting), browser HTML, mail HTML and the templates. Imports the analyses and below."""
