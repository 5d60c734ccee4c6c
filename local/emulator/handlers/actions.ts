import { renderAction } from "../actions";
import { invalidInput, notFound } from "../errors";
import { listBody } from "../listing";
import { Route, idParam } from "../router";

/**
 * hcloud-go polls `GET /actions?id=…&id=…` and fails with "actions not found" unless every requested
 * ID comes back; unknown IDs are left out so that failure shows up the same way as on the real API.
 */
export const actionRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/actions",
    handler: ({ store, query }) => {
      const ids = query.getAll("id");
      // Listing all actions was removed from the real API on 2025-01-30; id is required.
      if (ids.length === 0) throw invalidInput("id", "is required");
      const wanted = new Set(
        ids.map((text) => {
          if (!/^\d+$/.test(text)) throw invalidInput("id", `"${text}" is not an integer ID`);
          return Number(text);
        }),
      );
      const actions = store.state.actions.filter((action) => wanted.has(action.id));
      return { status: 200, body: listBody("actions", actions.map(renderAction), query) };
    },
  },
  {
    method: "GET",
    pattern: "/actions/:id",
    handler: (context) => {
      const id = idParam(context);
      const action = context.store.state.actions.find((candidate) => candidate.id === id);
      if (!action) throw notFound("action", id);
      return { status: 200, body: { action: renderAction(action) } };
    },
  },
];
