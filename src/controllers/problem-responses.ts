import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ProblemView } from '../dtos/grant.dto';

/** Documents problem+json answers of a route in the OpenAPI description. */
export const ApiProblems = (...statuses: number[]) =>
  applyDecorators(
    ...[401, ...statuses].map((status) =>
      ApiResponse({ status, description: 'application/problem+json with a stable `code` (docs/errors.md)', type: ProblemView }),
    ),
  );
