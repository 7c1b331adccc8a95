"""The backprop explorer: a page that steps through forward and backward, gate by gate.

``cr.explore(graph_or_tensor, "backprop.html")`` writes it; ``chainrule explore`` does
the same from the command line. The modules, each with one job:

- `steps`: the step list of a graph (forward one gate at a time, then backward in
  reverse topological order), with every number the panel shows;
- `local`: each gate's backward called on its own, for the parts it sends each input
  and, for small tensors, its Jacobian;
- `rules`: a gate's formula (from its docstring) and the lecture's pattern names;
- `encoding`: arrays written exactly and compactly for the page;
- `layout`: the drawing, laid out by Graphviz, made ready to inline;
- `pagedata`: the page's JSON; `page`: the HTML file and `explore`;
- `command`: ``chainrule explore``.

The package is named ``explorer``, not ``explore``, because importing a subpackage sets
it as an attribute of its parent: a ``chainrule.explore`` package would replace the
function ``cr.explore`` once imported.
"""

from chainrule.explorer.page import explore

__all__ = ["explore"]
