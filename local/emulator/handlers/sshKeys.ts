import { timestamp } from "../actions";
import { optionalString, requiredString } from "../body";
import { invalidInput, notFound, uniquenessError } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { renderSshKey } from "../render";
import { RequestContext, Route, idParam } from "../router";
import { sshKeyFingerprint } from "../sshPublicKey";
import { SshKeyRecord } from "../state";

function findKey(context: RequestContext): SshKeyRecord {
  const id = idParam(context);
  const key = context.store.state.sshKeys.find((candidate) => candidate.id === id);
  if (!key) throw notFound("SSH key", id);
  return key;
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.sshKeys.some((key) => key.name === name && key.id !== exceptId)) {
    throw uniquenessError("name", `SSH key with the name "${name}" already exists`);
  }
}

export const sshKeyRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/ssh_keys",
    handler: ({ store, query }) => {
      const fingerprint = query.get("fingerprint");
      const keys = store.state.sshKeys.filter(
        (key) => fingerprint === null || key.fingerprint === fingerprint,
      );
      return { status: 200, body: listBody("ssh_keys", keys.map(renderSshKey), query) };
    },
  },
  {
    method: "POST",
    pattern: "/ssh_keys",
    handler: (context) => {
      const { body, store } = context;
      const name = requiredString(body, "name");
      // Kept byte for byte: public_key forces replacement in the provider, so any rewrite would drift.
      const publicKey = requiredString(body, "public_key");
      const labels = readLabels(body.labels);
      let fingerprint: string;
      try {
        fingerprint = sshKeyFingerprint(publicKey);
      } catch (error) {
        throw invalidInput("public_key", `invalid public key: ${(error as Error).message}`);
      }
      assertNameFree(context, name);
      if (store.state.sshKeys.some((key) => key.fingerprint === fingerprint)) {
        throw uniquenessError("public_key", "SSH key with the same fingerprint already exists");
      }
      const key: SshKeyRecord = {
        id: store.nextId("sshKey"),
        name,
        publicKey,
        fingerprint,
        labels,
        created: timestamp(),
      };
      store.state.sshKeys.push(key);
      return { status: 201, body: { ssh_key: renderSshKey(key) } };
    },
  },
  {
    method: "GET",
    pattern: "/ssh_keys/:id",
    handler: (context) => ({ status: 200, body: { ssh_key: renderSshKey(findKey(context)) } }),
  },
  {
    method: "PUT",
    pattern: "/ssh_keys/:id",
    handler: (context) => {
      const key = findKey(context);
      const name = optionalString(context.body, "name");
      const labels = context.body.labels === undefined ? undefined : readLabels(context.body.labels);
      if (name !== undefined) {
        if (name === "") throw invalidInput("name", "must not be empty");
        assertNameFree(context, name, key.id);
        key.name = name;
      }
      if (labels !== undefined) key.labels = labels;
      return { status: 200, body: { ssh_key: renderSshKey(key) } };
    },
  },
  {
    method: "DELETE",
    pattern: "/ssh_keys/:id",
    handler: (context) => {
      const key = findKey(context);
      context.store.state.sshKeys = context.store.state.sshKeys.filter((candidate) => candidate !== key);
      return { status: 204 };
    },
  },
];
