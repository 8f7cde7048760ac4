/** Input properties the shipped GitHub workflows share (one wording for the same field everywhere). */
export const GITHUB_REPOSITORY_PROPERTIES = {
  owner: {
    type: "string",
    minLength: 1,
    description: "Repository owner (user or organization), e.g. octocat.",
  },
  repo: { type: "string", minLength: 1, description: "Repository name, e.g. hello-world." },
} as const;
