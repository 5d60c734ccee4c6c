import { recordAction, renderAction, timestamp } from "../actions";
import { optionalString, requiredString } from "../body";
import { ApiError, invalidInput, uniquenessError } from "../errors";
import { readFirewallRules } from "../firewallRules";
import { applyFirewall, readFirewallTargets, removeFirewall } from "../firewallTargets";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { requireFirewall } from "../lookups";
import { firewallAppliesTo, renderFirewall } from "../render";
import { RequestContext, Route, idParam } from "../router";
import { FirewallRecord } from "../state";

function findFirewall(context: RequestContext): FirewallRecord {
  return requireFirewall(context.store.state, idParam(context));
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.firewalls.some((firewall) => firewall.name === name && firewall.id !== exceptId)) {
    throw uniquenessError("name", `firewall with the name "${name}" already exists`);
  }
}

function firewallBody(
  context: RequestContext,
  firewall: FirewallRecord,
): { firewall: Record<string, unknown> } {
  return { firewall: renderFirewall(firewall, context.store.state) };
}

export const firewallRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/firewalls",
    handler: ({ store, query }) => ({
      status: 200,
      body: listBody(
        "firewalls",
        store.state.firewalls.map((firewall) => renderFirewall(firewall, store.state)),
        query,
      ),
    }),
  },
  {
    method: "POST",
    pattern: "/firewalls",
    handler: (context) => {
      const { body, store } = context;
      const name = requiredString(body, "name");
      const labels = readLabels(body.labels);
      const rules = readFirewallRules(body.rules);
      const targets = readFirewallTargets(body.apply_to, "apply_to");
      assertNameFree(context, name);
      const firewall: FirewallRecord = {
        id: store.nextId("firewall"),
        name,
        labels,
        created: timestamp(),
        rules,
        appliedTo: [],
      };
      const actions = applyFirewall(store, firewall, targets);
      store.state.firewalls.push(firewall);
      return {
        status: 201,
        body: { ...firewallBody(context, firewall), actions: actions.map(renderAction) },
      };
    },
  },
  {
    method: "GET",
    pattern: "/firewalls/:id",
    handler: (context) => ({ status: 200, body: firewallBody(context, findFirewall(context)) }),
  },
  {
    method: "PUT",
    pattern: "/firewalls/:id",
    handler: (context) => {
      const firewall = findFirewall(context);
      const name = optionalString(context.body, "name");
      const labels = context.body.labels === undefined ? undefined : readLabels(context.body.labels);
      if (name !== undefined) {
        if (name === "") throw invalidInput("name", "must not be empty");
        assertNameFree(context, name, firewall.id);
        firewall.name = name;
      }
      if (labels !== undefined) firewall.labels = labels;
      return { status: 200, body: firewallBody(context, firewall) };
    },
  },
  {
    method: "DELETE",
    pattern: "/firewalls/:id",
    handler: (context) => {
      const firewall = findFirewall(context);
      if (firewall.appliedTo.length > 0) {
        throw new ApiError(
          422,
          "resource_in_use",
          `firewall ${firewall.id} is still applied; remove it from its resources first`,
        );
      }
      context.store.state.firewalls = context.store.state.firewalls.filter(
        (candidate) => candidate !== firewall,
      );
      return { status: 204 };
    },
  },
  {
    method: "POST",
    pattern: "/firewalls/:id/actions/set_rules",
    handler: (context) => {
      const firewall = findFirewall(context);
      if (!Array.isArray(context.body.rules)) throw invalidInput("rules", "is required");
      firewall.rules = readFirewallRules(context.body.rules);
      const { store } = context;
      const reached = store.state.servers.filter((server) => firewallAppliesTo(firewall, server));
      // Like the real API: one set_firewall_rules, then one apply_firewall per server the firewall is on.
      const actions = [
        recordAction(store, "set_firewall_rules", [{ id: firewall.id, type: "firewall" }]),
        ...reached.map((server) =>
          recordAction(store, "apply_firewall", [
            { id: firewall.id, type: "firewall" },
            { id: server.id, type: "server" },
          ]),
        ),
      ];
      return { status: 201, body: { actions: actions.map(renderAction) } };
    },
  },
  {
    method: "POST",
    pattern: "/firewalls/:id/actions/apply_to_resources",
    handler: (context) => {
      const firewall = findFirewall(context);
      const actions = applyFirewall(
        context.store,
        firewall,
        readFirewallTargets(context.body.apply_to, "apply_to"),
      );
      return { status: 201, body: { actions: actions.map(renderAction) } };
    },
  },
  {
    method: "POST",
    pattern: "/firewalls/:id/actions/remove_from_resources",
    handler: (context) => {
      const firewall = findFirewall(context);
      const targets = readFirewallTargets(context.body.remove_from, "remove_from");
      const actions = removeFirewall(context.store, firewall, targets);
      return { status: 201, body: { actions: actions.map(renderAction) } };
    },
  },
];
