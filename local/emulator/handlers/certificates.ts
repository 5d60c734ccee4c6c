import { recordAction, renderAction, timestamp } from "../actions";
import { optionalArray, optionalString, requiredString } from "../body";
import { issueSelfSigned, readCertificate } from "../certificates";
import { ApiError, invalidInput, uniquenessError } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { requireCertificate } from "../lookups";
import { renderCertificate } from "../renderCloud";
import { RequestContext, Route, idParam } from "../router";
import { CertificateRecord } from "../state";

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

function findCertificate(context: RequestContext): CertificateRecord {
  return requireCertificate(context.store.state, idParam(context));
}

function certificateBody(context: RequestContext, certificate: CertificateRecord) {
  return { certificate: renderCertificate(certificate, context.store.state) };
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.certificates.some((c) => c.name === name && c.id !== exceptId)) {
    throw uniquenessError("name", `certificate with the name "${name}" already exists`);
  }
}

function readDomainNames(context: RequestContext): string[] {
  const names = optionalArray(context.body, "domain_names");
  if (names.length === 0)
    throw invalidInput("domain_names", "a managed certificate needs at least one domain name");
  for (const name of names) {
    if (typeof name !== "string" || !DNS_NAME.test(name)) {
      throw invalidInput("domain_names", `${JSON.stringify(name)} is not a DNS name`);
    }
  }
  return names as string[];
}

export const certificateRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/certificates",
    handler: (context) => ({
      status: 200,
      body: listBody(
        "certificates",
        context.store.state.certificates.map((c) => renderCertificate(c, context.store.state)),
        context.query,
      ),
    }),
  },
  {
    method: "POST",
    pattern: "/certificates",
    handler: async (context) => {
      const { body, store } = context;
      const name = requiredString(body, "name");
      assertNameFree(context, name);
      const type = optionalString(body, "type") ?? "uploaded";
      if (type !== "uploaded" && type !== "managed")
        throw invalidInput("type", `"${type}" is not uploaded or managed`);
      const labels = readLabels(body.labels);
      const requested = type === "managed" ? readDomainNames(context) : undefined;
      const pair = requested
        ? await issueSelfSigned(requested)
        : {
            certificate: requiredString(body, "certificate"),
            privateKey: requiredString(body, "private_key"),
          };
      const facts = readCertificate(pair.certificate, pair.privateKey);
      const certificate: CertificateRecord = {
        id: store.nextId("certificate"),
        name,
        labels,
        type,
        // An uploaded PEM comes back byte for byte: the provider compares it with what it sent.
        certificate: pair.certificate,
        privateKey: pair.privateKey,
        // A managed certificate reports exactly the requested names, or the provider replaces it.
        domainNames: requested ?? facts.domainNames,
        created: timestamp(),
        notValidBefore: facts.notValidBefore,
        notValidAfter: facts.notValidAfter,
        fingerprint: facts.fingerprint,
      };
      store.state.certificates.push(certificate);
      const action = requested
        ? renderAction(
            recordAction(store, "create_certificate", [{ id: certificate.id, type: "certificate" }]),
          )
        : null;
      return { status: 201, body: { ...certificateBody(context, certificate), action } };
    },
  },
  {
    method: "GET",
    pattern: "/certificates/:id",
    handler: (context) => ({ status: 200, body: certificateBody(context, findCertificate(context)) }),
  },
  {
    method: "PUT",
    pattern: "/certificates/:id",
    handler: (context) => {
      const certificate = findCertificate(context);
      const name = optionalString(context.body, "name");
      if (name !== undefined) {
        if (name === "") throw invalidInput("name", "must not be empty");
        assertNameFree(context, name, certificate.id);
        certificate.name = name;
      }
      if (context.body.labels !== undefined) certificate.labels = readLabels(context.body.labels);
      return { status: 200, body: certificateBody(context, certificate) };
    },
  },
  {
    method: "DELETE",
    pattern: "/certificates/:id",
    handler: (context) => {
      const certificate = findCertificate(context);
      const user = context.store.state.loadBalancers.find((lb) =>
        lb.services.some((service) => service.http?.certificates.includes(certificate.id)),
      );
      if (user) {
        throw new ApiError(
          422,
          "resource_in_use",
          `certificate ${certificate.id} is used by load balancer ${user.id}`,
        );
      }
      context.store.state.certificates = context.store.state.certificates.filter((c) => c !== certificate);
      return { status: 204 };
    },
  },
];
