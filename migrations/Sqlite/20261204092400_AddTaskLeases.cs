using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentApi.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddTaskLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "lease_expires_at",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lease_owner",
                table: "tasks",
                type: "TEXT",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "lease_token",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateIndex(
                name: "ix_tasks_lease_owner",
                table: "tasks",
                column: "lease_owner");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_session_key_id",
                table: "tasks",
                columns: new[] { "session_key", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_lease_owner",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_session_key_id",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "lease_expires_at",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "lease_owner",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "lease_token",
                table: "tasks");
        }
    }
}
